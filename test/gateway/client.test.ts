import { beforeAll, describe, expect, it } from "vitest";
import { classifyFailure } from "../../src/client/core/index.js";
import {
  CompactedError,
  compare,
  createGatewayTransport,
  Etcd,
  type EtcdOptions,
  InvalidArgumentError,
  LeaseLostError,
  LeaseNotFoundError,
  NotSupportedError,
  NotSupportedOverGatewayError,
  op,
  UnavailableError,
  type WatchBatch,
  WatchCompactedError,
} from "../../src/client/index.js";
import { discover, register } from "../../src/discovery/index.js";
import { type EtcdCluster, freePort } from "../../src/testing/index.js";
import { useEtcd } from "../support/etcd-fixture.js";
import { until, within } from "../support/wait.js";

// The client over etcd's JSON gateway (issue 23): `new Etcd()` with the fetch-only gateway transport,
// through the public API, against a real etcd of the line under test. Watches across cuts and restarts
// are in gateway-faults.test.ts, auth with expiring tokens in gateway-auth.test.ts.
const env = useEtcd();
const { cleanups } = env;
let cluster: EtcdCluster;
let etcd: Etcd;
/** The same etcd over gRPC: writes and reads the gateway client's results are checked against. */
let grpc: Etcd;
const dec = new TextDecoder();

/** A client over the gateway, as a user makes one. */
function gatewayClient(extra: Partial<EtcdOptions> = {}): Etcd {
  return env.client({ transport: (ep) => createGatewayTransport({ baseUrl: ep.url }), ...extra });
}

beforeAll(() => {
  cluster = env.cluster;
  etcd = gatewayClient();
  grpc = env.client();
});

async function nextEvents(it: AsyncIterator<WatchBatch>): Promise<WatchBatch> {
  for (;;) {
    const r = await it.next();
    if (r.done) throw new Error("watch ended");
    if (r.value.events.length > 0) return r.value;
  }
}

describe("KV and txn over the gateway", () => {
  it("puts, gets, ranges and deletes, with revisions and prev_kv", async () => {
    const first = await etcd.put("kv/a", "1");
    const second = await etcd.put("kv/a", "2", { prevKv: true });
    expect(second.revision).toBe(first.revision + 1n);
    expect(second.prevKv?.text()).toBe("1");
    await etcd.put("kv/b", new Uint8Array([0, 255, 1]));
    expect((await etcd.get("kv/a"))?.text()).toBe("2");
    // Bytes go through base64 intact.
    expect([...(await etcd.get("kv/b"))!.value]).toEqual([0, 255, 1]);
    expect((await grpc.get("kv/a"))?.modRevision).toBe(second.revision);
    const range = await etcd.range({ prefix: "kv/" });
    expect(range.kvs.map((kv) => kv.keyText())).toEqual(["kv/a", "kv/b"]);
    expect(range.count).toBe(2n);
    const old = await etcd.get("kv/a", { revision: first.revision });
    expect(old?.text()).toBe("1");
    const deleted = await etcd.delete({ prefix: "kv/" }, { prevKv: true });
    expect(deleted.deleted).toBe(2n);
    expect(await etcd.get("kv/a")).toBeUndefined();
  });

  it("iterates a range page by page (RangeStream is gRPC only: the client pages)", async () => {
    for (let i = 0; i < 25; i++) await grpc.put(`it/${String(i).padStart(2, "0")}`, `${i}`);
    const keys: string[] = [];
    for await (const kv of etcd.iterate({ prefix: "it/" }, { pageSize: 10 })) keys.push(kv.keyText());
    expect(keys).toHaveLength(25);
    expect(keys[0]).toBe("it/00");
    expect(keys[24]).toBe("it/24");
  });

  it("runs txn builders: compares, both branches, nested reads", async () => {
    await etcd.put("txn/x", "old");
    const hit = await etcd
      .txn()
      .if(compare.value("txn/x", "=", "old"))
      .onSuccess(op.put("txn/x", "new"), op.get("txn/x"))
      .onFailure(op.put("txn/other", "no"))
      .commit();
    expect(hit.succeeded).toBe(true);
    const miss = await etcd
      .txn()
      .if(compare.value("txn/x", "=", "old"))
      .onSuccess(op.put("txn/x", "never"))
      .onFailure(op.get("txn/x"))
      .commit();
    expect(miss.succeeded).toBe(false);
    expect((await grpc.get("txn/x"))?.text()).toBe("new");
  });

  it("types the server's refusals as over gRPC, and refuses bad input before sending", async () => {
    await expect(etcd.lease.revoke(123_456_789n)).rejects.toBeInstanceOf(LeaseNotFoundError);
    const { revision } = await grpc.put("compacted/k", "v");
    await grpc.put("compacted/k", "w");
    await grpc.compact(revision + 1n);
    await expect(etcd.get("compacted/k", { revision })).rejects.toBeInstanceOf(CompactedError);
    await expect(etcd.put("", "v")).rejects.toBeInstanceOf(InvalidArgumentError);
  });

  it("fails with UnavailableError when nothing listens, classified as never sent", async () => {
    const port = await freePort();
    await using dead = new Etcd({
      endpoints: [`http://127.0.0.1:${port}`],
      transport: (ep) => createGatewayTransport({ baseUrl: ep.url }),
      timeoutMs: 2_000,
    });
    const error = await dead.get("k").catch((e: unknown) => e);
    expect(error).toBeInstanceOf(UnavailableError);
    expect(classifyFailure(error)).toMatchObject({ kind: "unreachable", sent: false });
  });

  it("refuses an RPC the gateway has no path for with NotSupportedOverGatewayError", async () => {
    const transport = createGatewayTransport({ baseUrl: cluster.endpoint });
    cleanups.push(() => transport.close());
    const { KV } = await import("../../src/gen/etcdserverpb/rpc_pb.js");
    const error = await transport
      .stream(KV.method.rangeStream, undefined, undefined, undefined, (async function* () {})())
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(NotSupportedOverGatewayError);
    expect(error).toBeInstanceOf(NotSupportedError);
    expect((error as NotSupportedOverGatewayError).rpc).toBe("etcdserverpb.KV/RangeStream");
  });
});

describe("leases over the gateway", () => {
  it("grants, keeps a lease alive past its TTL by refreshes, lists and revokes it", async () => {
    const lease = await etcd.lease.grant(2);
    await etcd.put("lease/k", "v", { lease: lease.id });
    let refreshes = 0;
    lease.on("keepalive", () => refreshes++);
    // Three refreshes at a third of the TTL each: the lease lived past its TTL because of them.
    await until("three keepalive answers", () => refreshes >= 3, 30_000);
    expect((await grpc.get("lease/k"))?.lease).toBe(lease.id);
    const ttl = await etcd.lease.timeToLive(lease.id, { keys: true });
    expect(ttl.keys.map((k) => dec.decode(k))).toEqual(["lease/k"]);
    expect(await etcd.lease.leases()).toContain(lease.id);
    await lease.revoke();
    expect(await grpc.get("lease/k")).toBeUndefined();
  });

  it("reports a lease revoked by someone else as lost, told by the next refresh", async () => {
    const lease = await etcd.lease.grant(6);
    await grpc.lease.revoke(lease.id);
    const err = await within(lease.closed, "the lease to be lost");
    expect(err).toBeInstanceOf(LeaseLostError);
    expect((err as LeaseLostError).reason).toBe("expired");
  });

  it("keepAliveOnce answers for a live lease and fails typed for a gone one", async () => {
    const lease = await grpc.lease.grant(30);
    cleanups.push(() => grpc.lease.revoke(lease.id).catch(() => {}));
    const answer = await etcd.lease.keepAliveOnce(lease.id);
    expect(answer).toBeGreaterThan(0);
    await expect(etcd.lease.keepAliveOnce(123_456_789n)).rejects.toBeInstanceOf(LeaseLostError);
  });
});

describe("watches over the gateway", () => {
  it("delivers events in order, several watches at once, each on its own request", async () => {
    const a = etcd.watch({ prefix: "w/a/" });
    const b = etcd.watch("w/b");
    cleanups.push(
      () => a.close(),
      () => b.close(),
    );
    const ia = a[Symbol.asyncIterator]();
    const ib = b[Symbol.asyncIterator]();
    await until("both watches active", () => a.state === "active" && b.state === "active");
    const r1 = await grpc.put("w/a/1", "x");
    const r2 = await grpc.put("w/b", "y");
    await grpc.delete("w/a/1");
    const first = await within(nextEvents(ia), "w/a put");
    expect(first.events.map((e) => [e.type, e.kv.keyText(), e.kv.modRevision])).toEqual([
      ["put", "w/a/1", r1.revision],
    ]);
    const deleted = await within(nextEvents(ia), "w/a delete");
    expect(deleted.events.map((e) => e.type)).toEqual(["delete"]);
    const other = await within(nextEvents(ib), "w/b put");
    expect(other.events[0]!.kv.modRevision).toBe(r2.revision);
  });

  it("replays from a start revision with prev_kv and filters", async () => {
    const first = await grpc.put("w/replay", "1");
    await grpc.put("w/replay", "2");
    await grpc.delete("w/replay");
    const w = etcd.watch("w/replay", { startRevision: first.revision, prevKv: true, filters: ["noDelete"] });
    cleanups.push(() => w.close());
    const it = w[Symbol.asyncIterator]();
    const values: string[] = [];
    let prev: string | undefined;
    while (values.length < 2) {
      for (const e of (await within(nextEvents(it), "replayed events")).events) {
        values.push(e.kv.text());
        if (e.prevKv) prev = e.prevKv.text();
      }
    }
    expect(values).toEqual(["1", "2"]);
    expect(prev).toBe("1");
  });

  it("closing one watch cancels only its request; the others go on", async () => {
    const a = etcd.watch("w/close/a");
    const b = etcd.watch("w/close/b");
    cleanups.push(() => b.close());
    await until("both active", () => a.state === "active" && b.state === "active");
    a.close();
    expect(await a.closed).toBeUndefined();
    const it = b[Symbol.asyncIterator]();
    await grpc.put("w/close/b", "still");
    expect((await within(nextEvents(it), "b goes on")).events[0]!.kv.text()).toBe("still");
  });

  it("a create the server refuses fails that watch only (empty range)", async () => {
    const bad = etcd.watch({ key: "w/z", end: "w/a" });
    const good = etcd.watch("w/good");
    cleanups.push(() => good.close());
    expect(await within(bad.closed, "the refused watch to end")).toBeInstanceOf(Error);
    await until("good active", () => good.state === "active");
    const it = good[Symbol.asyncIterator]();
    await grpc.put("w/good", "v");
    expect((await within(nextEvents(it), "good delivers")).events).toHaveLength(1);
  });

  it("a watch from a compacted revision ends with WatchCompactedError, or resyncs when asked", async () => {
    const { revision } = await grpc.put("w/compact", "1");
    await grpc.put("w/compact", "2");
    const last = await grpc.put("w/compact", "3");
    await grpc.compact(last.revision);
    const failing = etcd.watch("w/compact", { startRevision: revision });
    expect(await within(failing.closed, "compacted watch ends")).toBeInstanceOf(WatchCompactedError);
    const resyncing = etcd.watch("w/compact", { startRevision: revision, onCompacted: "resync" });
    cleanups.push(() => resyncing.close());
    const it = resyncing[Symbol.asyncIterator]();
    const batch = (await within(it.next(), "the resync batch")).value as WatchBatch;
    expect(batch.resync?.map((kv) => kv.text())).toEqual(["3"]);
  });

  it("a progress request is answered with the store's revision, never marked complete", async () => {
    const w = etcd.watch("w/progress");
    cleanups.push(() => w.close());
    await until("active", () => w.state === "active");
    const { revision } = await grpc.put("w/elsewhere", "v");
    etcd.requestWatchProgress();
    const it = w[Symbol.asyncIterator]();
    const notice = (await within(it.next(), "the progress notice")).value as WatchBatch;
    expect(notice.progress).toBe(true);
    expect(notice.events).toEqual([]);
    expect(notice.revision).toBeGreaterThanOrEqual(revision);
    // A read of the revision, not the server's watch stream: it promises nothing about older events.
    expect(notice.progressComplete).toBeUndefined();
    await grpc.put("w/progress", "v");
    expect((await within(nextEvents(it), "the event after it")).events[0]!.kv.text()).toBe("v");
  });
});

describe("namespaces, the cache and discovery over the gateway", () => {
  it("a namespace view prefixes keys, ranges and watch events", async () => {
    const view = etcd.namespace("tenant/");
    const w = view.watch({ prefix: "cfg/" });
    cleanups.push(() => w.close());
    await until("active", () => w.state === "active");
    const it = w[Symbol.asyncIterator]();
    await view.put("cfg/a", "1");
    expect((await grpc.get("tenant/cfg/a"))?.text()).toBe("1");
    expect((await view.get("cfg/a"))?.keyText()).toBe("cfg/a");
    expect((await within(nextEvents(it), "namespaced event")).events[0]!.kv.keyText()).toBe("cfg/a");
  });

  it("a linearizable cache read of a quiet range is answered (by etcd: the gateway's notices are not complete)", async () => {
    await grpc.put("quiet/a", "1");
    const cache = etcd.cache({ prefix: "quiet/" });
    cleanups.push(() => cache.close());
    await within(cache.ready, "cache ready");
    // A write outside the range: the cache's revision stays behind the cluster's.
    await grpc.put("loud/x", "y");
    const kv = await within(cache.get("quiet/a", { linearizable: true, timeoutMs: 20_000 }), "the read");
    expect(kv?.text()).toBe("1");
  });

  it("etcd.cache() loads the range and follows its changes", async () => {
    await grpc.put("cache/a", "1");
    const cache = etcd.cache({ prefix: "cache/" });
    cleanups.push(() => cache.close());
    await within(cache.ready, "cache ready");
    expect(cache.get("cache/a")?.text()).toBe("1");
    const { revision } = await grpc.put("cache/b", "2");
    await within(cache.waitForRevision(revision), "cache at the write's revision");
    expect(cache.get("cache/b")?.text()).toBe("2");
  });

  it("register() announces an instance and discover() lists it and its changes", async () => {
    const d = discover(etcd, "gw-svc");
    cleanups.push(() => d.close());
    await within(d.ready, "discovery ready");
    const reg = await register(etcd, { service: "gw-svc", addr: "10.1.0.1:80", ttl: 2 });
    await until("the instance to be discovered", () => d.instances().some((i) => i.addr === "10.1.0.1:80"));
    // The registration's lease is kept by refreshes over the gateway, past its TTL.
    await new Promise((r) => setTimeout(r, 3_000));
    expect((await grpc.range({ prefix: "gw-svc/" })).count).toBe(1n);
    await reg.close();
    await until("the instance to be gone", () => d.instances().length === 0);
  });
});

describe("admin calls over the gateway", () => {
  it("lists members, reads status, alarms, hashes and defragments", async () => {
    const members = await etcd.cluster.list();
    expect(members).toHaveLength(1);
    expect(members[0]!.clientUrls).toContain(cluster.endpoint);
    const status = await etcd.maintenance.status(cluster.endpoint);
    expect(status.version).toBe((await grpc.maintenance.status(cluster.endpoint)).version);
    expect(await etcd.maintenance.alarms()).toEqual([]);
    const v34 = (await grpc.maintenance.status(cluster.endpoint)).version.startsWith("3.4.");
    // 3.4's gateway routes /v3/maintenance/hash to Hash and has no path for HashKV.
    if (v34)
      await expect(etcd.maintenance.hashKV(cluster.endpoint)).rejects.toBeInstanceOf(
        NotSupportedOverGatewayError,
      );
    else expect((await etcd.maintenance.hashKV(cluster.endpoint)).hash).toBeGreaterThan(0);
    expect((await etcd.maintenance.hash(cluster.endpoint)).hash).toBeGreaterThan(0);
    await etcd.maintenance.defragment(cluster.endpoint);
  });

  it("streams a snapshot (a server stream over the gateway)", async () => {
    let bytes = 0;
    for await (const chunk of etcd.maintenance.snapshot()) bytes += chunk.length;
    expect(bytes).toBeGreaterThan(1024);
  });

  it("manages users and roles, and fails typed for wrong credentials once auth is on", async () => {
    await etcd.auth.users.add("gw-user", "gw-pw-1");
    await etcd.auth.roles.add("gw-role");
    await etcd.auth.users.grantRole("gw-user", "gw-role");
    expect((await etcd.auth.users.get("gw-user")).roles).toEqual(["gw-role"]);
    expect(await etcd.auth.users.list()).toContain("gw-user");
    await etcd.auth.users.delete("gw-user");
    await etcd.auth.roles.delete("gw-role");
    const status = await etcd.auth.status().catch((e: unknown) => e);
    // AuthStatus exists from 3.5; 3.4's gateway has no path for it.
    if ((await grpc.maintenance.status(cluster.endpoint)).version.startsWith("3.4."))
      expect(status).toBeInstanceOf(NotSupportedError);
    else expect(status).toMatchObject({ enabled: false });
  });
});
