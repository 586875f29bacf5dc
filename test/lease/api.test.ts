import { beforeAll, describe, expect, it } from "vitest";
import {
  ClientClosedError,
  Etcd,
  InvalidArgumentError,
  LeaseLostError,
  LeaseNotFoundError,
  Mutex,
  Session,
  UnavailableError,
  type WatchBatch,
} from "../../src/client/index.js";
import { freePort } from "../../src/testing/index.js";
import { type SharedCluster, useSharedEtcd } from "../support/etcd-fixture.js";
import { until } from "../support/wait.js";

// Leases as users reach them: through `Etcd`, its caller (deadlines, retry table, typed errors) and its
// pool, watched through `etcd.watch`; `etcd.lease.keepAlive(id)` and `Session` on an existing lease. The
// deep behaviour (shared streams, resume, faults) is in test/lease/leases.test.ts, test/watch and test/faults.
const env = useSharedEtcd();
let cluster: SharedCluster;
let etcd: Etcd;

beforeAll(() => {
  cluster = env.cluster;
  etcd = env.client();
});

async function nextBatch(it: AsyncIterator<WatchBatch>): Promise<WatchBatch> {
  for (;;) {
    const r = await it.next();
    if (r.done) throw new Error("watch ended");
    if (r.value.events.length > 0) return r.value;
  }
}

describe("etcd.lease and etcd.watch", () => {
  it("grants a kept-alive lease, watches its key appear and vanish on revoke", async () => {
    const watcher = etcd.watch({ prefix: "lw/" });
    const it = watcher[Symbol.asyncIterator]();
    const lease = await etcd.lease.grant(5);
    expect(lease.grantedTtl).toBe(5);
    const put = await etcd.put("lw/instance", "up", { lease: lease.id });
    const created = await nextBatch(it);
    expect(created.events.map((e) => [e.type, new TextDecoder().decode(e.kv!.key)])).toEqual([
      ["put", "lw/instance"],
    ]);
    expect(created.events[0]!.kv!.modRevision).toBe(put.revision);
    expect(
      (await etcd.lease.timeToLive(lease.id, { keys: true })).keys.map((k) => new TextDecoder().decode(k)),
    ).toEqual(["lw/instance"]);
    await etcd.lease.revoke(lease.id);
    const deleted = await nextBatch(it);
    expect(deleted.events.map((e) => e.type)).toEqual(["delete"]);
    expect(await etcd.get("lw/instance")).toBeUndefined();
    watcher.close();
  });

  it("reports a lease revoked by someone else as lost, told by the server before its deadline", async () => {
    // TTL 6: a keepalive goes 2 s after each answer and the local deadline is 5.5 s after the last one
    // was sent, so the next keepalive's answer (TTL 0) comes seconds before it, even on a slow machine.
    const lease = await etcd.lease.grant(6);
    await using other = new Etcd({ endpoints: cluster.endpoints });
    await other.lease.revoke(lease.id);
    const err = await lease.closed;
    expect(err).toBeInstanceOf(LeaseLostError);
    expect((err as LeaseLostError).leaseId).toBe(lease.id);
    // "expired": the server answered TTL 0, i.e. the loss was learned from the next keepalive, not by
    // waiting out the TTL ("deadline").
    expect((err as LeaseLostError).reason).toBe("expired");
  });

  it("refuses bad TTLs before sending, and maps server errors to typed ones", async () => {
    for (const ttl of [0, -1, 1.5, Number.NaN]) {
      const err = await etcd.lease.grant(ttl).catch((e: unknown) => e);
      expect(err, String(ttl)).toBeInstanceOf(InvalidArgumentError);
      expect((err as InvalidArgumentError).field).toBe("ttl");
    }
    expect(await etcd.lease.revoke(123_456_789n).catch((e: unknown) => e)).toBeInstanceOf(LeaseNotFoundError);
    expect((await etcd.lease.timeToLive(123_456_789n)).ttl).toBe(-1);
    await expect(etcd.lease.keepAliveOnce(123_456_789n)).rejects.toBeInstanceOf(LeaseLostError);
  });

  it("keepAliveOnce fails with a typed error naming the endpoint when nothing answers", async () => {
    const nowhere = `http://127.0.0.1:${await freePort()}`;
    await using offline = new Etcd({ endpoints: [nowhere] });
    const err = await offline.lease.keepAliveOnce(1n).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UnavailableError);
    expect((err as UnavailableError).endpoint).toBe(nowhere);
  });

  it("lists leases, and ends watches and leases when the client closes", async () => {
    const c = new Etcd({ endpoints: cluster.endpoints });
    const lease = await c.lease.grant(10);
    expect(await c.lease.leases()).toContain(lease.id);
    const watcher = c.watch("lw/closing");
    await c.close();
    expect(await watcher.closed).toBeUndefined();
    expect(lease.state).not.toBe("alive");
    expect(() => c.watch("lw/after")).toThrow(ClientClosedError);
    await etcd.lease.revoke(lease.id);
  });
});

describe("lease.keepAlive(id)", () => {
  it("keeps alive a lease granted elsewhere, past its TTL", async () => {
    const other = new Etcd({ endpoints: cluster.endpoints });
    try {
      const granted = await other.lease.grant(3, { keepAlive: false });
      const lease = await etcd.lease.keepAlive(granted.id);
      expect(lease.id).toBe(granted.id);
      expect(await etcd.lease.keepAlive(granted.id)).toBe(lease);
      let refreshes = 0;
      lease.on("keepalive", () => refreshes++);
      // A refresh every third of the TTL: four of them span more than the TTL itself.
      await until("four refreshes", () => refreshes >= 4);
      expect((await other.lease.timeToLive(granted.id)).ttl).toBeGreaterThan(0);
      lease.close();
    } finally {
      await other.close();
    }
  });

  it("rejects with LeaseLostError for a lease that does not exist", async () => {
    const error = await etcd.lease.keepAlive(987654321).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(LeaseLostError);
    expect((error as LeaseLostError).reason).toBe("expired");
  });
});

describe("Session on an existing lease", () => {
  it("holds locks on that lease, and close() revokes it", async () => {
    const granted = await etcd.lease.grant(30, { keepAlive: false });
    const session = await Session.create(etcd, { lease: granted.id });
    expect(session.leaseId).toBe(granted.id);
    const mutex = new Mutex(session, "session-lease/lock");
    await mutex.lock();
    expect((await etcd.get(mutex.key))?.lease).toBe(granted.id);
    await session.close();
    expect((await etcd.lease.timeToLive(granted.id)).ttl).toBe(-1);
    expect(await etcd.get(mutex.key)).toBeUndefined();
  });
});
