import { describe, expect, it } from "vitest";
import { InvalidArgumentError } from "./core/errors.js";
import { DEFAULT_MAX_REQUEST_BYTES } from "./core/validation.js";
import { resolveOptions } from "./options.js";

describe("resolveOptions", () => {
  it("fills in every default", () => {
    const o = resolveOptions({ endpoints: "http://127.0.0.1:2379/" });
    expect(o.endpoints).toEqual([{ url: "http://127.0.0.1:2379", secure: false, tls: undefined }]);
    expect(o).toMatchObject({
      timeoutMs: 10_000,
      maxAttempts: 5,
      backoff: { initialMs: 50, maxMs: 1_000 },
      endpointCooldownMs: 5_000,
      requireLeader: true,
      monotonicReads: false,
      keepaliveIntervalMs: 10_000,
      keepaliveTimeoutMs: 5_000,
      connectTimeoutMs: 5_000,
      autoSyncIntervalMs: 0,
      maxRequestBytes: DEFAULT_MAX_REQUEST_BYTES,
      transport: undefined,
      builtinTransport: undefined,
    });
    expect(DEFAULT_MAX_REQUEST_BYTES).toBe(1_572_864);
  });
  it("names a built-in transport, or takes a factory", () => {
    expect(resolveOptions({ endpoints: "http://a:1", transport: "http2" })).toMatchObject({
      transport: undefined,
      builtinTransport: "http2",
    });
    const factory = () => ({}) as never;
    expect(resolveOptions({ endpoints: "http://a:1", transport: factory }).transport).toBe(factory);
  });
  it("passes TLS material to https endpoints", () => {
    const o = resolveOptions({ endpoints: ["https://a:2379", "https://b:2379"], tls: { ca: "CA" } });
    expect(o.endpoints.map((e) => [e.url, e.secure, e.tls?.ca])).toEqual([
      ["https://a:2379", true, "CA"],
      ["https://b:2379", true, "CA"],
    ]);
  });
  it.each([
    [{ endpoints: [] }, "endpoints"],
    [{ endpoints: ["127.0.0.1:2379"] }, "endpoints"],
    [{ endpoints: ["http://a:1", "https://b:1"] }, "endpoints"],
    [{ endpoints: ["http://user:pw@a:1"] }, "endpoints"],
    [{ endpoints: ["http://a:1"], tls: { ca: "x" } }, "tls"],
    [{ endpoints: ["http://a:1"], timeoutMs: -1 }, "timeoutMs"],
    [{ endpoints: ["http://a:1"], retry: { maxAttempts: 0 } }, "retry.maxAttempts"],
    [{ endpoints: ["http://a:1"], monotonicReads: "yes" as unknown as boolean }, "monotonicReads"],
    [{ endpoints: ["http://a:1"], transport: "h2" as never }, "transport"],
    [{ endpoints: ["http://a:1"], transport: {} as never }, "transport"],
    [{ endpoints: ["http://a:1"], monotonicReads: null as unknown as boolean }, "monotonicReads"],
    [{ endpoints: ["http://a:1"], monotonicReads: {} as unknown as boolean }, "monotonicReads"],
    [
      { endpoints: ["http://a:1"], auth: { username: "u", password: 5 as unknown as string } },
      "auth.password",
    ],
    [{ endpoints: ["http://a:1"], auth: "root:pw" as never }, "auth"],
    [{ endpoints: ["http://a:1"], auth: {} as never }, "auth"],
    [{ endpoints: ["http://a:1"], auth: { username: "u", password: "p", token: "t" } as never }, "auth"],
    [{ endpoints: ["http://a:1"], auth: { token: "t", getToken: () => "t" } as never }, "auth"],
    [{ endpoints: ["http://a:1"], auth: { token: 42 as unknown as string } }, "auth.token"],
    [{ endpoints: ["http://a:1"], auth: { token: "" } }, "auth.token"],
    [{ endpoints: ["http://a:1"], auth: { token: "secret-Token\nx" } }, "auth.token"],
    [{ endpoints: ["http://a:1"], auth: { getToken: "secret-Token" as never } }, "auth.getToken"],
  ])("rejects %j naming %s", (options, field) => {
    try {
      resolveOptions(options);
      expect.unreachable();
    } catch (e) {
      expect(e).toBeInstanceOf(InvalidArgumentError);
      expect((e as InvalidArgumentError).field).toBe(field);
      // Never echo a password back.
      expect((e as Error).message).not.toContain("pw@");
      expect((e as Error).message).not.toContain("secret-Token");
    }
  });
  it("takes exactly one form of auth", () => {
    expect(resolveOptions({ endpoints: "http://a:1", auth: { username: "u", password: "" } }).auth).toEqual({
      kind: "password",
      username: "u",
      password: "",
    });
    expect(resolveOptions({ endpoints: "http://a:1", auth: { token: "t.1" } }).auth).toEqual({
      kind: "token",
      token: "t.1",
    });
    const provider = {
      prefix: "jwt-",
      getToken(this: { prefix: string }) {
        return `${this.prefix}1`;
      },
    };
    const resolved = resolveOptions({ endpoints: "http://a:1", auth: provider }).auth;
    expect(resolved?.kind).toBe("getToken");
    // A provider object keeps its `this`.
    const context = { signal: new AbortController().signal, reason: "initial" as const };
    expect(resolved?.kind === "getToken" && resolved.getToken(context)).toBe("jwt-1");
  });
});
