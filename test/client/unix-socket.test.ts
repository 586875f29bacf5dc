// unix:// and unixs:// endpoints on every transport, against real etcd members serving a unix socket
// beside their TCP client URL (every etcd line of the matrix: 3.4 takes the socket as unix://host:port).
import { symlink } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import {
  Etcd,
  type EtcdOptions,
  InvalidArgumentError,
  type ResolvedEndpoint,
  UnavailableError,
  type WatchBatch,
} from "../../src/client/index.js";
import { createConnectNodeTransport } from "../../src/connect-node/index.js";
import { createGrpcJsTransport } from "../../src/grpc-js/index.js";
import { type EtcdCluster, startEtcd } from "../../src/testing/index.js";
import { within } from "../support/wait.js";

const TRANSPORTS: Array<{ name: string; transport: EtcdOptions["transport"] }> = [
  { name: "h2-net (default)", transport: undefined },
  { name: "node:http2", transport: "http2" },
  {
    name: "grpc-js",
    transport: (e: ResolvedEndpoint) => createGrpcJsTransport({ baseUrl: e.url, tls: e.tls }),
  },
  {
    name: "connect-node",
    transport: (e: ResolvedEndpoint) => createConnectNodeTransport({ baseUrl: e.url, tls: e.tls }),
  },
];

let plain: EtcdCluster;
let secure: EtcdCluster;

beforeAll(async () => {
  [plain, secure] = await Promise.all([
    startEtcd({ unixSocket: true }),
    startEtcd({ unixSocket: true, tls: true }),
  ]);
});

afterAll(async () => {
  await Promise.all([plain?.close(), secure?.close()]);
});

/** A put, a get and a watch that sees a put made over TCP by another client. */
async function exercise(etcd: Etcd, tcp: Etcd, name: string): Promise<void> {
  const key = `unix/${name}`;
  const put = await etcd.put(key, "over the socket");
  expect((await etcd.get(key))?.text()).toBe("over the socket");
  expect((await tcp.get(key))?.modRevision).toBe(put.revision);
  await using watcher = etcd.watch(key, { startRevision: put.revision + 1n });
  await within(watcher.created, `the watch over ${name} is created`);
  await tcp.put(key, "over tcp");
  const first = async (): Promise<WatchBatch | undefined> => {
    for await (const batch of watcher) return batch;
    return undefined;
  };
  const batch = await within(first(), `a watch event over ${name}`);
  expect(batch?.events.map((e) => [e.type, e.kv.text()])).toEqual([["put", "over tcp"]]);
}

describe.each(TRANSPORTS)("$name", ({ name, transport }) => {
  test("unix://: put, get and a watch", async () => {
    const url = plain.unixEndpoints[0]!;
    expect(url).toMatch(/^unix:\/\/\//);
    await using etcd = new Etcd({ endpoints: url, ...(transport ? { transport } : {}) });
    await using tcp = new Etcd({ endpoints: plain.endpoints });
    await exercise(etcd, tcp, `${name}-plain`);
    expect((await etcd.status()).endpoint).toBe(url);
  });

  test("unixs://: TLS over the socket, the certificate checked against the socket's name", async () => {
    const url = secure.unixEndpoints[0]!;
    expect(url).toMatch(/^unixs:\/\/\//);
    const tls = { ca: secure.tls!.ca };
    await using etcd = new Etcd({ endpoints: url, tls, ...(transport ? { transport } : {}) });
    await using tcp = new Etcd({ endpoints: secure.endpoints, tls });
    await exercise(etcd, tcp, `${name}-tls`);
  });

  test("a socket file that does not exist: the call moves to the next endpoint, writes included", async () => {
    const missing = `unix://${join(plain.root, "no-such.sock")}`;
    await using etcd = new Etcd({
      endpoints: [missing, plain.unixEndpoints[0]!],
      ...(transport ? { transport } : {}),
    });
    // A put is retried only when it provably never left: a socket that does not exist is that.
    await etcd.put(`unix/${name}-failover`, "v");
    expect((await etcd.get(`unix/${name}-failover`))?.text()).toBe("v");
    await using alone = new Etcd({
      endpoints: missing,
      timeoutMs: 2_000,
      ...(transport ? { transport } : {}),
    });
    await expect(alone.get("unix/x")).rejects.toBeInstanceOf(UnavailableError);
  });
});

describe("unixs:// server names", () => {
  test("the default name is the socket file's (without :port); tls.servername overrides it", async () => {
    // The same socket under a name the certificate (DNS:localhost) does not carry.
    const alias = join(secure.root, "etcd.sock");
    await symlink(secure.unixEndpoints[0]!.slice("unixs://".length), alias);
    const ca = secure.tls!.ca;
    await using wrongName = new Etcd({
      endpoints: `unixs://${alias}`,
      tls: { ca },
      timeoutMs: 3_000,
      retry: { maxAttempts: 1 },
    });
    const err = await wrongName.get("unix/k").catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UnavailableError);
    expect(String((err as Error).cause ?? err)).toMatch(/etcd\.sock|altnames|certificate/i);
    await using named = new Etcd({ endpoints: `unixs://${alias}`, tls: { ca, servername: "localhost" } });
    await named.put("unix/servername", "ok");
    expect((await named.get("unix/servername"))?.text()).toBe("ok");
  });
});

describe("endpoint validation", () => {
  test.each([
    [["unix://"], /names no socket file/],
    [["unixs://"], /names no socket file/],
    [["http://127.0.0.1:2379", "unixs:///run/etcd.sock"], /mixes http:\/\/ and https:\/\//],
    [["https://127.0.0.1:2379", "unix:///run/etcd.sock"], /mixes http:\/\/ and https:\/\//],
    [["unix:/run/etcd.sock"], /unsupported scheme/],
    [["tcp://127.0.0.1:2379"], /unsupported scheme/],
  ])("%j is refused before anything is sent", (endpoints, message) => {
    let error: unknown;
    try {
      new Etcd({ endpoints });
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(InvalidArgumentError);
    expect((error as InvalidArgumentError).field).toBe("endpoints");
    expect((error as Error).message).toMatch(message);
  });

  test("tls with plain unix:// endpoints is refused; unix and http mix (both plain)", () => {
    expect(() => new Etcd({ endpoints: "unix:///run/etcd.sock", tls: { ca: "x" } })).toThrow(
      /tls: is set but the endpoints are plain/,
    );
    const etcd = new Etcd({
      endpoints: ["unix:///run/etcd.sock", "http://127.0.0.1:2379", "unix://localhost:2379"],
    });
    expect(etcd.endpoints).toEqual([
      "unix:///run/etcd.sock",
      "http://127.0.0.1:2379",
      "unix://localhost:2379",
    ]);
    void etcd.close();
  });
});
