import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { Etcd, type Lease, LeaseLostError } from "../../src/client/index.js";
import { FaultProxy } from "../../src/testing/index.js";
import { type SharedCluster, useSharedEtcd } from "../support/etcd-fixture.js";
import { callsStarted } from "../support/server-metrics.js";
import { until } from "../support/wait.js";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe("leases of new Etcd() against a real etcd", () => {
  const env = useSharedEtcd();
  const { cleanups } = env;
  let etcd: SharedCluster;
  let proxy: FaultProxy;

  beforeAll(async () => {
    etcd = env.cluster;
    proxy = await FaultProxy.start(etcd.endpoint);
  });
  afterEach(() => {
    proxy.heal();
  });
  afterAll(async () => {
    await proxy?.close();
  });

  /** A client, as a user makes it; closed after the test. */
  function client(endpoint = etcd.endpoint): Etcd {
    const c = new Etcd({ endpoints: [endpoint] });
    cleanups.push(() => c.close());
    return c;
  }

  const keepAliveStreams = () => callsStarted(etcd.endpoint, "etcdserverpb.Lease/LeaseKeepAlive");

  it("grants, lists, reports time-to-live with keys, and revokes", async () => {
    const c = client();
    const lease = await c.lease.grant(30, { keepAlive: false });
    expect(lease.grantedTtl).toBe(30);
    await c.put("lease/a", "1", { lease: lease.id });
    expect(await c.lease.leases()).toContain(lease.id);
    const ttl = await c.lease.timeToLive(lease.id, { keys: true });
    expect(ttl.grantedTtl).toBe(30);
    expect(ttl.ttl).toBeGreaterThan(25);
    expect(ttl.keys.map((k) => new TextDecoder().decode(k))).toEqual(["lease/a"]);
    const kept = await c.lease.grant(30);
    await c.lease.revoke(kept.id);
    expect(kept.state).toBe("closed");
    expect((await c.lease.timeToLive(kept.id)).ttl).toBe(-1);
    await c.lease.revoke(lease.id);
    expect((await c.lease.timeToLive(lease.id)).ttl).toBe(-1);
    expect(await c.lease.leases()).not.toContain(lease.id);
    expect(await c.get("lease/a")).toBeUndefined();
  });

  it("keeps a lease on the TTL the server granted, not the one asked for: every refresh renews it in full", async () => {
    const c = client();
    // etcd raises TTLs below its minimum (3 s with default election settings).
    const lease = await c.lease.grant(1);
    expect(lease.grantedTtl).toBeGreaterThan(1);
    const answers: number[] = [];
    lease.on("keepalive", (e) => answers.push(e.ttl));
    // Three refreshes answered, the lease alive throughout: a refresh the server answered with TTL 0 (too
    // late) or none before the client's own deadline would end it, and the wait would fail naming the loss.
    await until("three refreshes of the lease", () => {
      if (lease.state !== "alive")
        throw new Error(`the lease ended (${lease.state}) after ${answers.length} refreshes`);
      return answers.length >= 3;
    });
    // The server renewed the TTL it granted, in full, each time.
    expect(answers.slice(0, 3)).toEqual([lease.grantedTtl, lease.grantedTtl, lease.grantedTtl]);
    expect((await c.lease.timeToLive(lease.id)).grantedTtl).toBe(lease.grantedTtl);
    expect(lease.state).toBe("alive");
    // When each refresh is due (a third of the answered TTL, not sooner, not later) is read off a fake
    // clock in src/client/lease/lease-keeper.spec.ts: a real clock here would fail on a busy machine.
  });

  it("keeps every lease on ONE LeaseKeepAlive stream", async () => {
    const before = await keepAliveStreams();
    const c = client();
    const all = await Promise.all([c.lease.grant(5), c.lease.grant(5), c.lease.grant(5), c.lease.grant(5)]);
    // Each is refreshed (at 5/3 s) at least once...
    const refreshed = new Set<bigint>();
    for (const l of all) l.on("keepalive", (e) => refreshed.add(e.id));
    const deadline = Date.now() + 10_000;
    while (refreshed.size < 4 && Date.now() < deadline) await sleep(20);
    expect(refreshed.size).toBe(4);
    // ...and the server saw one keepalive stream for the four.
    expect(await keepAliveStreams()).toBe(before + 1);
    for (const l of all) expect(l.state).toBe("alive");
  });

  it("reopens a cut stream and refreshes every lease at once", async () => {
    const before = await keepAliveStreams();
    const c = client(proxy.url);
    // A long TTL: its schedule (a refresh every 20 s) and "at once" stay far apart however busy the host.
    const all = await Promise.all([c.lease.grant(60), c.lease.grant(60), c.lease.grant(60)]);
    const lastRefresh = new Map<bigint, number>(all.map((l) => [l.id, Date.now()]));
    const refreshedAfterCut = new Map<bigint, number>();
    let cut = false;
    for (const l of all)
      l.on("keepalive", (e) => {
        if (!cut) lastRefresh.set(e.id, Date.now());
        else if (!refreshedAfterCut.has(e.id)) refreshedAfterCut.set(e.id, Date.now());
      });
    await sleep(300);
    cut = true;
    proxy.cut();
    const deadline = Date.now() + 15_000;
    while (refreshedAfterCut.size < 3 && Date.now() < deadline) await sleep(20);
    expect(refreshedAfterCut.size).toBe(3);
    // At once: each well before the lease's own schedule (a third of the TTL after its last refresh)
    // would have refreshed it.
    for (const l of all)
      expect(refreshedAfterCut.get(l.id)! - lastRefresh.get(l.id)!).toBeLessThan(
        ((l.grantedTtl * 1000) / 3) * 0.8,
      );
    expect(await keepAliveStreams()).toBeGreaterThanOrEqual(before + 2);
    for (const l of all) expect(l.state).toBe("alive");
  });

  it("declares a lease lost when the server answers TTL 0 (revoked elsewhere)", async () => {
    const c = client();
    const other = client();
    const lease = await c.lease.grant(3);
    const lostEvent = new Promise<Error | undefined>((resolve) => lease.once("close", resolve));
    const iterated = (async () => {
      for await (const _ of lease) {
        /* refreshes */
      }
    })();
    // Rejects as the lease ends, before the assertion below is attached: not an unhandled rejection.
    iterated.catch(() => {});
    await other.lease.revoke(lease.id);
    const err = await lostEvent;
    expect(err).toBeInstanceOf(LeaseLostError);
    expect((err as LeaseLostError).reason).toBe("expired");
    expect(await lease.closed).toBe(err);
    expect(lease.signal.reason).toBe(err);
    await expect(iterated).rejects.toBe(err);
    expect(lease.state).toBe("closed");
  });

  it("declares a lease lost before its TTL when no refresh gets through", async () => {
    const c = client(proxy.url);
    const lease = await c.lease.grant(3);
    let lastRefresh = Date.now();
    lease.on("keepalive", () => {
      lastRefresh = Date.now();
    });
    await sleep(200);
    proxy.refuse(true);
    proxy.cut();
    const err = await lease.closed;
    const lostAt = Date.now();
    expect(err).toBeInstanceOf(LeaseLostError);
    expect((err as LeaseLostError).reason).toBe("deadline");
    expect(lostAt - lastRefresh).toBeLessThanOrEqual(lease.ttl * 1000);
  });

  it("keepAliveOnce refreshes on its own stream; close() ends iteration cleanly", async () => {
    const c = client();
    const lease: Lease = await c.lease.grant(10, { keepAlive: false });
    expect(await lease.keepAliveOnce()).toBe(10);
    const kept = await c.lease.grant(10);
    const iterated = (async () => {
      let n = 0;
      for await (const _ of kept) n++;
      return n;
    })();
    await kept.close();
    expect(await iterated).toBe(0);
    expect(kept.state).toBe("closed");
    await c.lease.revoke(lease.id);
    await expect(c.lease.keepAliveOnce(lease.id)).rejects.toBeInstanceOf(LeaseLostError);
  });

  it("close() ends every kept lease as closed (not lost, not revoked) and releases the stream", async () => {
    const c = client(proxy.url);
    const a = await c.lease.grant(10);
    await sleep(100);
    await c.close();
    expect(a.state).toBe("closed");
    // Ended by this process, so `closed` has resolved, without an error (the pending `lost` of 0.x is gone).
    expect(await a.closed).toBeUndefined();
    await expect(c.lease.grant(5)).rejects.toThrow();
    // Released and never reopened: the connection closes and nothing more reaches the proxy.
    const deadline = Date.now() + 5000;
    while (proxy.connections > 0 && Date.now() < deadline) await sleep(10);
    expect(proxy.connections).toBe(0);
    const sent = proxy.bytesFromClients;
    // Not revoked: the server still has it until its TTL runs out.
    const other = client();
    expect((await other.lease.timeToLive(a.id)).ttl).toBeGreaterThan(0);
    await sleep(300);
    expect(proxy.bytesFromClients).toBe(sent);
    await other.lease.revoke(a.id);
  });
});
