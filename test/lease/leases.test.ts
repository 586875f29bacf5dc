import { create } from "@bufbuild/protobuf";
import { createClient } from "@connectrpc/connect";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { LeaseLostError } from "../../src/client/lease/errors.js";
import type { Lease } from "../../src/client/lease/lease.js";
import { Leases } from "../../src/client/lease/leases.js";
import { KV, PutRequestSchema } from "../../src/gen/etcdserverpb/rpc_pb.js";
import { type EtcdCluster, FaultProxy, startEtcd } from "../../src/testing/index.js";
import { TestTransportPool } from "../support/transport-pool.js";

const enc = new TextEncoder();

describe("Leases against a real etcd", () => {
  let etcd: EtcdCluster;
  let proxy: FaultProxy;
  const cleanups: (() => Promise<void> | void)[] = [];

  beforeAll(async () => {
    etcd = await startEtcd();
    proxy = await FaultProxy.start(etcd.endpoint);
  });
  afterEach(async () => {
    proxy.refuse(false);
    for (const c of cleanups.splice(0).reverse()) await c();
  });
  afterAll(async () => {
    await proxy?.close();
    await etcd?.close();
  });

  function open(endpoint = etcd.endpoint): { pool: TestTransportPool; leases: Leases } {
    const pool = new TestTransportPool([endpoint]);
    const leases = new Leases(pool, { responseTimeoutMs: 1000 });
    cleanups.push(
      () => leases.close(),
      () => pool.close(),
    );
    return { pool, leases };
  }

  it("grants, lists, reports time-to-live with keys, and revokes", async () => {
    const { pool, leases } = open();
    const lease = await leases.grant(30, { keepAlive: false });
    expect(lease.grantedTtl).toBe(30);
    await createClient(KV, pool.pick().transport).put(
      create(PutRequestSchema, { key: enc.encode("lease/a"), value: enc.encode("1"), lease: lease.id }),
    );
    expect(await leases.leases()).toContain(lease.id);
    const ttl = await leases.timeToLive(lease.id, { keys: true });
    expect(ttl.grantedTtl).toBe(30);
    expect(ttl.ttl).toBeGreaterThan(25);
    expect(ttl.keys.map((k) => new TextDecoder().decode(k))).toEqual(["lease/a"]);
    const kept = await leases.grant(30);
    await leases.revoke(kept.id);
    expect(kept.state).toBe("closed");
    expect(leases.keeper.size).toBe(0);
    await leases.revoke(lease.id);
    expect((await leases.timeToLive(lease.id)).ttl).toBe(-1);
    expect(await leases.leases()).not.toContain(lease.id);
  });

  it("refreshes at a third of the TTL the server granted, not the one asked for", async () => {
    const { leases } = open();
    // etcd 3.4 raises TTLs below its minimum (3 s with default election settings).
    const lease = await leases.grant(1);
    expect(lease.grantedTtl).toBeGreaterThan(1);
    const times: number[] = [];
    const start = Date.now();
    lease.on("keepalive", () => times.push(Date.now() - start));
    await new Promise((r) => setTimeout(r, lease.grantedTtl * 1000 + 300));
    const third = (lease.grantedTtl * 1000) / 3;
    expect(times.length).toBeGreaterThanOrEqual(2);
    expect(times.length).toBeLessThanOrEqual(4);
    for (let i = 1; i < times.length; i++) expect(times[i]! - times[i - 1]!).toBeGreaterThan(third * 0.8);
    expect(lease.state).toBe("alive");
  });

  it("keeps every lease on ONE LeaseKeepAlive stream", async () => {
    const { pool, leases } = open();
    const all = await Promise.all([leases.grant(5), leases.grant(5), leases.grant(5), leases.grant(5)]);
    await new Promise((r) => setTimeout(r, 2500));
    expect(pool.calls.get("LeaseKeepAlive")).toBe(1);
    expect(leases.keeper.size).toBe(4);
    for (const l of all) expect(l.state).toBe("alive");
  });

  it("reopens a cut stream and refreshes every lease at once", async () => {
    const { pool, leases } = open(proxy.url);
    const all = await Promise.all([leases.grant(9), leases.grant(9), leases.grant(9)]);
    const refreshedAfterCut = new Set<bigint>();
    await new Promise((r) => setTimeout(r, 300));
    let cutAt = 0;
    for (const l of all) l.on("keepalive", (e) => (cutAt ? refreshedAfterCut.add(e.id) : undefined));
    cutAt = Date.now();
    proxy.cut();
    // Refreshes are 3 s apart: all three answering within 1.5 s proves the reopen refreshed them at once.
    const deadline = Date.now() + 1500;
    while (refreshedAfterCut.size < 3 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    expect(refreshedAfterCut.size).toBe(3);
    expect(pool.calls.get("LeaseKeepAlive")).toBeGreaterThanOrEqual(2);
    for (const l of all) expect(l.state).toBe("alive");
  });

  it("declares a lease lost when the server answers TTL 0 (revoked elsewhere)", async () => {
    const { leases } = open();
    const other = open().leases;
    const lease = await leases.grant(3);
    const lostEvent = new Promise<LeaseLostError>((resolve) => lease.once("lost", resolve));
    const iterated = (async () => {
      for await (const _ of lease) {
        /* refreshes */
      }
    })();
    await other.revoke(lease.id);
    const err = await lostEvent;
    expect(err).toBeInstanceOf(LeaseLostError);
    expect(err.reason).toBe("expired");
    await expect(lease.lost).rejects.toBe(err);
    await expect(iterated).rejects.toBe(err);
    expect(leases.keeper.size).toBe(0);
  });

  it("declares a lease lost before its TTL when no refresh gets through", async () => {
    const { leases } = open(proxy.url);
    const lease = await leases.grant(3);
    let lastRefresh = Date.now();
    lease.on("keepalive", () => {
      lastRefresh = Date.now();
    });
    await new Promise((r) => setTimeout(r, 200));
    proxy.refuse(true);
    proxy.cut();
    const err = await lease.lost.catch((e: unknown) => e);
    const lostAt = Date.now();
    expect(err).toBeInstanceOf(LeaseLostError);
    expect((err as LeaseLostError).reason).toBe("deadline");
    expect(lostAt - lastRefresh).toBeLessThanOrEqual(lease.ttl * 1000);
  });

  it("keepAliveOnce refreshes on its own stream; close() ends iteration cleanly", async () => {
    const { leases } = open();
    const lease: Lease = await leases.grant(10, { keepAlive: false });
    expect(await lease.keepAliveOnce()).toBe(10);
    const kept = await leases.grant(10);
    const iterated = (async () => {
      let n = 0;
      for await (const _ of kept) n++;
      return n;
    })();
    kept.close();
    expect(await iterated).toBe(0);
    expect(kept.state).toBe("closed");
    await leases.revoke(lease.id);
    await expect(leases.keepAliveOnce(lease.id)).rejects.toBeInstanceOf(LeaseLostError);
  });

  it("close() ends every kept lease as closed (not lost, not revoked) and releases the stream", async () => {
    const { leases } = open();
    const a = await leases.grant(10);
    const lostOrNot = a.lost.then(
      () => "resolved",
      () => "rejected",
    );
    await new Promise((r) => setTimeout(r, 100));
    await leases.close();
    expect(a.state).toBe("closed");
    expect(leases.keeper.size).toBe(0);
    expect(leases.keeper.endpoint).toBeUndefined();
    await expect(leases.grant(5)).rejects.toThrow();
    // Not revoked: the server still has it until its TTL runs out.
    const other = open().leases;
    expect((await other.timeToLive(a.id)).ttl).toBeGreaterThan(0);
    const settled = await Promise.race([lostOrNot, new Promise((r) => setTimeout(() => r("pending"), 50))]);
    expect(settled).toBe("pending");
    await other.revoke(a.id);
  });
});
