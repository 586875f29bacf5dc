import { subscribe, unsubscribe } from "node:diagnostics_channel";
import { describe, expect, it } from "vitest";
import { ClientClosedError, InvalidArgumentError } from "../core/errors.js";
import { NODE_CHANNELS } from "../diagnostics/node-channels.js";
import type { ClosableTransport } from "../transport/closable-transport.js";
import { ConnectionPool } from "./pool.js";

const A = "http://127.0.0.1:1";
const B = "http://127.0.0.1:2";

/** A pool over fake transports: records which endpoints got a transport and which were closed. */
function fakePool(urls: string[] = [A, B]) {
  const made: string[] = [];
  const closed: string[] = [];
  const pool = new ConnectionPool(
    urls.map((url) => ({ url, secure: false, tls: undefined })),
    {
      cooldownMs: 5000,
      factory: (endpoint) => {
        made.push(endpoint.url);
        return {
          unary: () => Promise.reject(new Error("no calls here")),
          stream: () => Promise.reject(new Error("no streams here")),
          close: async () => {
            closed.push(endpoint.url);
          },
        } as unknown as ClosableTransport;
      },
      auth: undefined,
      timeoutMs: 1000,
      requireLeader: true,
      diagnostics: NODE_CHANNELS,
    },
  );
  return { pool, made, closed };
}

/** What `etcd-ts:endpoint:failed` published while `run` ran. */
function observeFailures(run: () => void): { endpoint: string; next: string }[] {
  const seen: { endpoint: string; next: string }[] = [];
  const listener = (message: unknown) => {
    const { endpoint, next } = message as { endpoint: string; next: string };
    seen.push({ endpoint, next });
  };
  subscribe("etcd-ts:endpoint:failed", listener);
  try {
    run();
  } finally {
    unsubscribe("etcd-ts:endpoint:failed", listener);
  }
  return seen;
}

describe("ConnectionPool", () => {
  it("makes one channel per endpoint, on first use, and hands the same one out again", () => {
    const { pool, made } = fakePool();
    expect(made).toEqual([]);
    const first = pool.pick();
    expect(first.endpoint).toBe(A);
    expect(pool.pick()).toBe(first);
    expect(pool.channelFor(A)).toBe(first);
    expect(made).toEqual([A]);
  });

  it("moves the next pick to another endpoint once the current one failed, and says so", () => {
    const { pool } = fakePool();
    const published = observeFailures(() => pool.markFailed(A, new Error("refused")));
    expect(pool.pick().endpoint).toBe(B);
    expect(published).toEqual([{ endpoint: A, next: B }]);
  });

  it("ignores a failure of a URL outside its list (an aimed call)", () => {
    const { pool } = fakePool();
    const published = observeFailures(() => pool.markFailed("http://127.0.0.1:9", new Error("refused")));
    expect(pool.pick().endpoint).toBe(A);
    expect(published).toEqual([]);
  });

  it("gives an aimed call a channel to a URL outside the list when the scheme matches", () => {
    const { pool, made } = fakePool();
    const aimed = pool.channelFor("http://127.0.0.1:9/");
    expect(aimed.endpoint).toBe("http://127.0.0.1:9");
    expect(made).toEqual(["http://127.0.0.1:9"]);
    // The list is unchanged: picks still go to its endpoints.
    expect(pool.pick().endpoint).toBe(A);
  });

  it("refuses an aimed URL whose scheme differs from the list's, before making a transport", () => {
    const { pool, made } = fakePool();
    expect(() => pool.channelFor("https://127.0.0.1:9")).toThrow(InvalidArgumentError);
    expect(made).toEqual([]);
  });

  it("closes the transports of endpoints dropped from the list, and only those", async () => {
    const { pool, made, closed } = fakePool();
    pool.channelFor(A);
    pool.channelFor(B);
    await pool.setEndpoints([{ url: B, secure: false, tls: undefined }]);
    expect(closed).toEqual([A]);
    expect(pool.pick().endpoint).toBe(B);
    // A's channel is gone: coming back makes a new transport.
    pool.channelFor(A);
    expect(made).toEqual([A, B, A]);
  });

  it("closes every transport on close, and refuses picks after", async () => {
    const { pool, closed } = fakePool();
    pool.channelFor(A);
    pool.channelFor(B);
    await pool.close();
    expect(closed.sort()).toEqual([A, B]);
    expect(() => pool.pick()).toThrow(ClientClosedError);
    expect(() => pool.channelFor(A)).toThrow(ClientClosedError);
  });
});
