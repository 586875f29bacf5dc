// The server version per endpoint: asked with Maintenance/Status once per connection, through the call
// pipeline (with the token under auth), again after the connection is replaced, on every transport.
// RangeStream is what depends on it here, so the member is etcd 3.7.
import type { Interceptor } from "@connectrpc/connect";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { Etcd, type EtcdOptions, op, type ResolvedEndpoint } from "../../src/client/index.js";
import { createConnectNodeTransport } from "../../src/connect-node/index.js";
import { createGrpcJsTransport } from "../../src/grpc-js/index.js";
import { type EtcdCluster, FaultProxy, startEtcd } from "../../src/testing/index.js";
import { enableAuth } from "../support/etcdctl.js";
import { callsStarted } from "../support/server-metrics.js";

const TRANSPORTS: Array<{ name: string; transport: EtcdOptions["transport"] }> = [
  { name: "h2-net (default)", transport: undefined },
  { name: "node:http2", transport: "http2" },
  { name: "grpc-js", transport: (e: ResolvedEndpoint) => createGrpcJsTransport({ baseUrl: e.url }) },
  {
    name: "connect-node",
    transport: (e: ResolvedEndpoint) => createConnectNodeTransport({ baseUrl: e.url }),
  },
];

/** Counts the client's RPCs by name and the unary ones that failed, and keeps the headers of each Status. */
function recorder() {
  const calls = new Map<string, number>();
  const statusHeaders: Headers[] = [];
  let failed = 0;
  const interceptor: Interceptor = (next) => async (req) => {
    calls.set(req.method.name, (calls.get(req.method.name) ?? 0) + 1);
    if (req.method.name === "Status") statusHeaders.push(new Headers(req.header));
    try {
      return await next(req);
    } catch (err) {
      failed++;
      throw err;
    }
  };
  return {
    interceptor,
    count: (name: string) => calls.get(name) ?? 0,
    failed: () => failed,
    statusHeaders,
  };
}

let cluster: EtcdCluster;
const PAGE = 40;

beforeAll(async () => {
  cluster = await startEtcd({ version: "3.7" });
  await using etcd = new Etcd({ endpoints: cluster.endpoints });
  await etcd
    .txn()
    .onSuccess(...Array.from({ length: 3 * PAGE }, (_, i) => op.put(`sv/${String(i).padStart(4, "0")}`, "v")))
    .commit();
});

afterAll(async () => {
  await cluster?.close();
});

async function readAll(etcd: Etcd): Promise<number> {
  let n = 0;
  for await (const _ of etcd.iterate({ prefix: "sv/" }, { pageSize: PAGE })) n++;
  return n;
}

describe.each(TRANSPORTS)("$name", ({ transport }) => {
  test("Status once per connection, again on a new one; every read streams", async () => {
    await using proxy = await FaultProxy.start(cluster.endpoint);
    const seen = recorder();
    await using etcd = new Etcd({
      endpoints: proxy.url,
      interceptors: [seen.interceptor],
      ...(transport ? { transport } : {}),
    });
    const streamsBefore = await callsStarted(cluster.endpoint, "etcdserverpb.KV/RangeStream");
    expect(await readAll(etcd)).toBe(3 * PAGE);
    expect(await readAll(etcd)).toBe(3 * PAGE);
    expect(seen.count("Status")).toBe(1);
    // The connection is replaced (the member could have been restarted with another release).
    proxy.cut();
    expect(await readAll(etcd)).toBe(3 * PAGE);
    expect(seen.count("Status")).toBe(2);
    expect(seen.count("RangeStream")).toBe(3);
    expect((await callsStarted(cluster.endpoint, "etcdserverpb.KV/RangeStream")) - streamsBefore).toBe(3);
  });

  test("a member restarted between reads (say, upgraded): asked again, though no call failed", async () => {
    const seen = recorder();
    await using etcd = new Etcd({
      endpoints: cluster.endpoints,
      interceptors: [seen.interceptor],
      ...(transport ? { transport } : {}),
    });
    expect(await readAll(etcd)).toBe(3 * PAGE);
    expect(seen.count("Status")).toBe(1);
    // The client is idle while the member goes away and comes back: its transport sees the connection
    // close and opens a new one for the next call, which is what tells the client to ask again.
    await cluster.members[0]!.restart();
    expect(await readAll(etcd)).toBe(3 * PAGE);
    expect(seen.failed()).toBe(0);
    expect(seen.count("Status")).toBe(2);
    expect(seen.count("RangeStream")).toBe(2);
  });
});

describe("where the version comes from", () => {
  test("maintenance.status() is remembered: no second Status for the reads after it", async () => {
    const seen = recorder();
    await using etcd = new Etcd({ endpoints: cluster.endpoints, interceptors: [seen.interceptor] });
    expect((await etcd.maintenance.status()).version).toMatch(/^3\.7\./);
    expect(await readAll(etcd)).toBe(3 * PAGE);
    expect(seen.count("Status")).toBe(1);
    expect(seen.count("RangeStream")).toBe(1);
  });

  test("a small read asks nothing: one page answers it", async () => {
    const seen = recorder();
    await using etcd = new Etcd({ endpoints: cluster.endpoints, interceptors: [seen.interceptor] });
    let n = 0;
    for await (const _ of etcd.iterate({ prefix: "sv/" }, { pageSize: 1000 })) n++;
    expect(n).toBe(3 * PAGE);
    expect(seen.count("Status")).toBe(0);
    expect(seen.count("RangeStream")).toBe(0);
  });
});

describe("under auth (Status needs a token on etcd 3.5.28+, 3.6.9+, 3.7)", () => {
  let secured: EtcdCluster;
  beforeAll(async () => {
    secured = await startEtcd({ version: "3.7" });
    await using etcd = new Etcd({ endpoints: secured.endpoints });
    await etcd
      .txn()
      .onSuccess(
        ...Array.from({ length: 3 * PAGE }, (_, i) => op.put(`sv/${String(i).padStart(4, "0")}`, "v")),
      )
      .commit();
    await enableAuth(secured.endpoint, {
      rootPassword: "rootpw",
      role: {
        name: "reader",
        grants: [["read", "sv/"]],
        users: [{ username: "alice", password: "alicepw" }],
      },
    });
  });
  afterAll(async () => {
    await secured?.close();
  });

  test("a user with read rights only: the version is asked with its token and the read streams", async () => {
    const seen = recorder();
    await using etcd = new Etcd({
      endpoints: secured.endpoints,
      auth: { username: "alice", password: "alicepw" },
      interceptors: [seen.interceptor],
    });
    const before = await callsStarted(secured.endpoint, "etcdserverpb.KV/RangeStream");
    expect(await readAll(etcd)).toBe(3 * PAGE);
    expect(seen.count("Status")).toBe(1);
    expect(seen.statusHeaders[0]?.get("token")).toBeTruthy();
    expect((await callsStarted(secured.endpoint, "etcdserverpb.KV/RangeStream")) - before).toBe(1);
  });
});
