import { once } from "node:events";
import { rm } from "node:fs/promises";
import { afterAll, afterEach, beforeAll, describe, expect, expectTypeOf, it } from "vitest";
import {
  AbortedError,
  Code,
  Etcd,
  EtcdError,
  PermissionDeniedError,
  UnavailableError,
} from "../../src/client/index.js";
import {
  discover,
  goEndpointsCodec,
  notDraining,
  type Registration,
  RegistrationClosedError,
  RegistrationConflictError,
  type RegistrationEvent,
  type RegistrationLostError,
  register,
} from "../../src/discovery/index.js";
import { type EtcdCluster, FaultProxy, startEtcd } from "../../src/testing/index.js";
import { CallTap } from "../support/call-tap.js";
import { useEtcd } from "../support/etcd-fixture.js";
import { enableAuth, etcdctl } from "../support/etcdctl.js";
import { CLIENT_OPTIONS, client, until } from "./support.js";

/**
 * Checks the registration's rate floor on the grants a tap saw: at least 500 ms between two grants when
 * they are issued, so never more than 3 in any one-second window of send times (one more than the
 * floor allows, for the few ms a call may take to reach the transport).
 */
function expectAtMostTwoGrantsPerSecond(tap: CallTap): void {
  const grants = tap.of("LeaseGrant").map((c) => c.at);
  const busiest = Math.max(0, ...grants.map((t) => grants.filter((u) => u >= t && u < t + 1000).length));
  expect(busiest, `${grants.length} grants in ${grants.at(-1)! - grants[0]!} ms`).toBeLessThanOrEqual(3);
}

/** Records the registration's `lost` events. */
function lostEvents(r: Registration): RegistrationLostError[] {
  const lost: RegistrationLostError[] = [];
  r.on("lost", (e) => lost.push(e));
  return lost;
}

/** Deletes `key`, then resolves with the `lost` it causes once the registration is back. */
async function deleteAndAwaitReturn(r: Registration, admin: Etcd): Promise<RegistrationLostError> {
  const lost = once(r, "lost") as Promise<[RegistrationLostError]>;
  const back = once(r, "reregistered");
  await admin.delete(r.key);
  const [error] = await lost;
  await back;
  await until("key back under the new lease", async () => (await admin.get(r.key))?.lease === r.leaseId);
  return error;
}

describe("register() against a real etcd", () => {
  const env = useEtcd({ client: CLIENT_OPTIONS });
  const { cleanups } = env;
  let cluster: EtcdCluster;
  let etcd: Etcd;
  let admin: Etcd;

  beforeAll(() => {
    cluster = env.cluster;
    etcd = env.client();
    admin = env.client();
  });

  async function reg(
    addr: string,
    extra: Partial<Parameters<typeof register>[1]> = {},
  ): Promise<Registration> {
    const r = await register(etcd, {
      service: "greeter",
      addr,
      ttl: 5,
      backoff: { initialMs: 50, maxMs: 500 },
      ...extra,
    });
    cleanups.push(() => r.close());
    return r;
  }

  it("writes the Go endpoints layout under its own lease", async () => {
    const r = await reg("127.0.0.1:7001", { metadata: { zone: "a" }, version: "1.0.0" });
    expect(r.state).toBe("registered");
    const kv = await admin.get("greeter/127.0.0.1:7001");
    expect(kv?.lease).toBe(r.leaseId);
    const value = kv?.json() as Record<string, unknown>;
    expect(value).toMatchObject({ Op: 0, Addr: "127.0.0.1:7001", Metadata: '{"zone":"a"}' });
  });

  it("refuses to overwrite another live instance's key (put-if-absent)", async () => {
    const first = await reg("127.0.0.1:7002");
    const other = client(cluster.endpoint);
    cleanups.push(() => other.close());
    const conflict = await register(other, { service: "greeter", addr: "127.0.0.1:7002" }).catch((e) => e);
    expect(conflict).toBeInstanceOf(RegistrationConflictError);
    // One error model: discovery's errors are EtcdErrors with a gRPC code.
    expect(conflict).toBeInstanceOf(EtcdError);
    expect(conflict.code).toBe(Code.AlreadyExists);
    expect((await admin.get("greeter/127.0.0.1:7002"))?.lease).toBe(first.leaseId);
    expect(first.state).toBe("registered");
  });

  async function expectReregistration(r: Registration, cause: () => Promise<unknown>) {
    const events: RegistrationEvent[] = [];
    const it = r[Symbol.asyncIterator]();
    const collecting = (async () => {
      for (;;) {
        const n = await it.next();
        if (n.done) return;
        events.push(n.value);
        if (n.value.type === "reregistered") return;
      }
    })();
    const before = r.leaseId;
    await cause();
    await collecting;
    expect(events.map((e) => e.type)).toEqual(["lost", "reregistered"]);
    expect(r.leaseId).not.toBe(before);
    await until("key back under the new lease", async () => (await admin.get(r.key))?.lease === r.leaseId);
    await it.return?.();
  }

  it("re-registers after an operator revokes its lease", async () => {
    const r = await reg("127.0.0.1:7003");
    await expectReregistration(r, () => admin.lease.revoke(r.leaseId));
  });

  it("re-registers after its key is deleted by hand", async () => {
    const r = await reg("127.0.0.1:7004");
    await expectReregistration(r, () => admin.delete(r.key));
  });

  it("update() changes the metadata in place, under the same lease", async () => {
    const r = await reg("127.0.0.1:7005", { metadata: "v1" });
    await r.update("v2");
    const kv = await admin.get(r.key);
    expect(kv?.json()).toMatchObject({ Metadata: "v2" });
    expect(kv?.lease).toBe(r.leaseId);
  });

  it("drain() then deregister(): watchers see draining, then the removal (bench:discovery measures how fast)", async () => {
    // A TTL far beyond the wait below: only the revoke can remove the key in time.
    const r = await reg("127.0.0.1:7006", { ttl: 60 });
    const all = discover(admin, "greeter");
    const serving = discover(admin, "greeter", { filter: notDraining });
    cleanups.push(
      () => all.close(),
      () => serving.close(),
    );
    await Promise.all([all.ready, serving.ready]);
    expect(serving.instances().map((i) => i.addr)).toContain("127.0.0.1:7006");
    await r.drain();
    await until("draining seen", () => all.entries().get(r.key)?.draining === true);
    await until("draining filtered out", () => !serving.entries().has(r.key));
    let removed = false;
    all.on("removed", (_i, key) => {
      if (key === r.key) removed = true;
    });
    await r.deregister();
    // Seen as a `removed` event from the watch.
    await until("the removal seen by the watcher", () => removed);
    expect(all.entries().has(r.key)).toBe(false);
    expect(await admin.get(r.key)).toBeUndefined();
    // Over: a later update or drain is refused with a typed error and writes nothing.
    const late = await r.update({ v: 3 }).catch((e: unknown) => e);
    expect(late).toBeInstanceOf(RegistrationClosedError);
    expect((late as RegistrationClosedError).code).toBe(Code.Canceled);
    await expect(r.drain()).rejects.toBeInstanceOf(RegistrationClosedError);
    expect(await admin.get(r.key)).toBeUndefined();
  });

  it("every value it writes has a Go-hashable Metadata, whatever the user's metadata", async () => {
    let seed = 42;
    const rand = () => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed / 2 ** 31;
    };
    const arbitrary = (depth: number): unknown => {
      const k = Math.floor(rand() * (depth > 2 ? 5 : 7));
      if (k === 0) return null;
      if (k === 1) return rand() < 0.5;
      if (k === 2) return Math.floor(rand() * 1e6) - 5e5 + (rand() < 0.3 ? 0.5 : 0);
      if (k === 3)
        return String.fromCharCode(
          ...Array.from({ length: Math.floor(rand() * 8) }, () => 32 + Math.floor(rand() * 500)),
        );
      if (k === 4) return undefined;
      if (k === 5) return Array.from({ length: Math.floor(rand() * 4) }, () => arbitrary(depth + 1));
      return Object.fromEntries(
        Array.from({ length: Math.floor(rand() * 4) }, (_, i) => [`k${i}`, arbitrary(depth + 1)]),
      );
    };
    const codec = goEndpointsCodec({ keyPrefix: "prop/" });
    for (let n = 0; n < 60; n++) {
      const metadata = arbitrary(0);
      const r = await register(etcd, { service: "prop", addr: `10.0.0.1:${n}`, metadata, ttl: 5, codec });
      if (n % 2 === 0) await r.update(arbitrary(0));
      if (n % 3 === 0) await r.drain();
      const raw = JSON.parse(new TextDecoder().decode((await admin.get(r.key))!.value));
      const m = raw.Metadata;
      expect(m === null || ["string", "number", "boolean"].includes(typeof m), JSON.stringify(raw)).toBe(
        true,
      );
      await r.close();
    }
  });

  it("re-registers after the member restarts with its data directory wiped", async () => {
    const r = await reg("127.0.0.1:7007");
    const member = cluster.members[0]!;
    await expectReregistration(r, async () => {
      await member.stop();
      await rm(member.dataDir, { recursive: true, force: true });
      await member.start();
    });
    expect((await admin.get(r.key))?.lease).toBe(r.leaseId);
  }, 60_000);

  it("comes back after etcd is killed (SIGKILL) and restarted, still watching its key", async () => {
    const r = await reg("127.0.0.1:7009", { ttl: 30 });
    const lost = lostEvents(r);
    const member = cluster.members[0]!;
    await member.kill();
    await member.start();
    await until(
      "registered, key under its lease",
      async () => r.state === "registered" && (await admin.get(r.key))?.lease === r.leaseId,
      30_000,
    );
    // The lease (30 s) outlived the restart: nothing was lost.
    expect(lost).toEqual([]);
    expect((await deleteAndAwaitReturn(r, admin)).reason).toBe("key-deleted");
  }, 60_000);

  it("a registration lost as soon as it is back issues at most 2 lease grants a second", async () => {
    const tap = new CallTap();
    const own = tap.client({ endpoints: cluster.endpoint, timeoutMs: 3000 });
    cleanups.push(() => own.close());
    // Someone deletes the instance's key each time it appears: every registration is lost at once.
    const stop = new AbortController();
    const adversary = admin.watch({ prefix: "storm/" }, { signal: stop.signal });
    const deleting = (async () => {
      for await (const batch of adversary)
        for (const e of batch.events) if (e.type === "put") await admin.delete(e.kv.keyText());
    })();
    cleanups.push(() => {
      stop.abort();
      return deleting;
    });
    // A backoff of 1 ms: only the registration's own floor stands between it and a storm.
    const r = await register(own, {
      service: "storm",
      addr: "127.0.0.1:7100",
      ttl: 5,
      backoff: { initialMs: 1, maxMs: 1 },
    });
    cleanups.push(() => r.close());
    const lost = lostEvents(r);
    await until("8 losses", () => lost.length >= 8, 30_000);
    stop.abort();
    await deleting;
    expectAtMostTwoGrantsPerSecond(tap);
    expect(new Set(lost.map((e) => e.reason))).toEqual(new Set(["key-deleted"]));
    await until(
      "back once nobody deletes it",
      async () => r.state === "registered" && (await admin.get(r.key))?.lease === r.leaseId,
    );
  }, 60_000);

  it("re-registers after a partition longer than the TTL (lease lost by deadline)", async () => {
    await using proxy = await FaultProxy.start(cluster.endpoint);
    const cut = client(proxy.url);
    cleanups.push(() => cut.close());
    const r = await register(cut, {
      service: "greeter",
      addr: "127.0.0.1:7008",
      ttl: 3,
      backoff: { initialMs: 50, maxMs: 300 },
    });
    cleanups.push(() => r.close());
    const lost = new Promise((resolve) => r.once("lost", resolve));
    const back = new Promise((resolve) => r.once("reregistered", resolve));
    const oldLease = r.leaseId;
    proxy.blackhole("both");
    proxy.cut();
    await lost;
    proxy.heal();
    await back;
    expect(r.leaseId).not.toBe(oldLease);
    await until("key under the new lease", async () => (await admin.get(r.key))?.lease === r.leaseId);
    // The old lease is gone (expired on the server, or revoked by the takeover).
    await until("old lease gone", async () => (await admin.lease.timeToLive(oldLease)).ttl === -1);
  }, 30_000);

  it("leaseId is a bigint once register() resolved, and stays one while re-registering", async () => {
    const r = await reg("127.0.0.1:7021");
    expectTypeOf(r.leaseId).toEqualTypeOf<bigint>();
    expect(r.leaseId).toBeGreaterThan(0n);
    const first = r.leaseId;
    const lost = once(r, "lost");
    await admin.delete(r.key);
    await lost;
    // Between the loss and the new registration, the lost lease's ID (a key put under it fails loudly).
    expect(typeof r.leaseId).toBe("bigint");
    await until("back under a new lease", async () => r.state === "registered" && r.leaseId !== first);
  });

  it("etcd.close() after register() revokes the lease: the key is gone at once, not after the TTL", async () => {
    const own = client(cluster.endpoint);
    const view = own.namespace("closing/");
    const plain = await register(own, { service: "greeter", addr: "127.0.0.1:7022", ttl: 60 });
    const viewed = await register(view, { service: "greeter", addr: "127.0.0.1:7023", ttl: 60 });
    const leases = [plain.leaseId, viewed.leaseId];
    expect((await admin.get("greeter/127.0.0.1:7022"))?.lease).toBe(leases[0]);
    expect((await admin.get("closing/greeter/127.0.0.1:7023"))?.lease).toBe(leases[1]);
    await own.close();
    // Read right after close() resolved: a 60 s TTL would keep the keys for a minute.
    expect(await admin.get("greeter/127.0.0.1:7022")).toBeUndefined();
    expect(await admin.get("closing/greeter/127.0.0.1:7023")).toBeUndefined();
    for (const id of leases) expect((await admin.lease.timeToLive(id)).ttl).toBe(-1);
    expect([plain.state, viewed.state]).toEqual(["closed", "closed"]);
    expect(await plain.closed).toBeUndefined();
  });

  it("rejects at once while etcd is down, unless waitForEtcd: then it waits and registers once etcd is back", async () => {
    const proxy = await FaultProxy.start(cluster.endpoint);
    cleanups.push(() => proxy.close());
    const tap = new CallTap();
    const own = tap.client({ endpoints: proxy.url, timeoutMs: 2000, endpointCooldownMs: 100 });
    cleanups.push(() => own.close());
    proxy.refuse(true);
    // The default: the first attempt's failure, as a put would fail.
    await expect(register(own, { service: "greeter", addr: "127.0.0.1:7024" })).rejects.toBeInstanceOf(
      UnavailableError,
    );
    expect(await admin.get("greeter/127.0.0.1:7024")).toBeUndefined();
    // waitForEtcd: retried (each attempt a refused grant) until etcd can be reached.
    const grantsBefore = tap.of("LeaseGrant").length;
    const pending = register(own, {
      service: "greeter",
      addr: "127.0.0.1:7025",
      ttl: 5,
      waitForEtcd: true,
      backoff: { initialMs: 50, maxMs: 200 },
    });
    let settled = false;
    void pending.then(
      () => (settled = true),
      () => (settled = true),
    );
    // Attempts beyond the caller's own retries of one grant (5 attempts): register() itself retried.
    await until(
      "register() to retry past one failed grant",
      () => tap.of("LeaseGrant").length >= grantsBefore + 7,
    );
    expect(settled).toBe(false);
    proxy.refuse(false);
    const r = await pending;
    cleanups.push(() => r.close());
    expect(r.state).toBe("registered");
    expect((await admin.get("greeter/127.0.0.1:7025"))?.lease).toBe(r.leaseId);
  }, 30_000);

  it("waitForEtcd stops at its signal (AbortedError) and does not wait out a conflict", async () => {
    const proxy = await FaultProxy.start(cluster.endpoint);
    cleanups.push(() => proxy.close());
    const tap = new CallTap();
    const own = tap.client({ endpoints: proxy.url, timeoutMs: 2000, endpointCooldownMs: 100 });
    cleanups.push(() => own.close());
    proxy.refuse(true);
    const stop = new AbortController();
    const rejected = register(own, {
      service: "greeter",
      addr: "127.0.0.1:7026",
      waitForEtcd: true,
      backoff: { initialMs: 50, maxMs: 200 },
      signal: stop.signal,
    }).catch((e: unknown) => e);
    // Waiting: more grants than one grant's own retries (5 attempts).
    await until("register() to retry past one failed grant", () => tap.of("LeaseGrant").length >= 7);
    stop.abort();
    const error = await rejected;
    expect(error).toBeInstanceOf(AbortedError);
    expect(await admin.get("greeter/127.0.0.1:7026")).toBeUndefined();
    // A conflict is no reason to wait: refused at once.
    proxy.refuse(false);
    const holder = await reg("127.0.0.1:7027");
    await expect(
      register(own, { service: "greeter", addr: "127.0.0.1:7027", waitForEtcd: true }),
    ).rejects.toBeInstanceOf(RegistrationConflictError);
    expect((await admin.get(holder.key))?.lease).toBe(holder.leaseId);
  }, 30_000);
});

describe("register() with auth on (tokens expire after 2 s)", () => {
  const ROOT_PW = "root-Secret-pw-123";
  const SVC_PW = "svc-Secret-pw-456";
  let cluster: EtcdCluster;
  let admin: Etcd;
  const cleanups: (() => Promise<unknown> | unknown)[] = [];
  const asRoot = (args: string[]) => etcdctl(cluster.endpoint, args, [`--user=root:${ROOT_PW}`]);

  beforeAll(async () => {
    cluster = await startEtcd({ args: ["--auth-token-ttl=2"] });
    const ep = cluster.endpoint;
    await enableAuth(ep, {
      rootPassword: ROOT_PW,
      role: {
        name: "svc",
        grants: [["readwrite", "authsvc/"]],
        users: [{ username: "svc", password: SVC_PW }],
      },
    });
    admin = new Etcd({ endpoints: ep, timeoutMs: 3000, auth: { username: "root", password: ROOT_PW } });
  });
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c();
  });
  afterAll(async () => {
    await admin?.close();
    await cluster?.close();
  });

  it("a watch the server refuses is not a loss: the key is read, and watched again once it can be", async () => {
    await using proxy = await FaultProxy.start(cluster.endpoint);
    const tap = new CallTap();
    const svc = tap.client({
      endpoints: proxy.url,
      timeoutMs: 3000,
      auth: { username: "svc", password: SVC_PW },
    });
    cleanups.push(() => svc.close());
    const r = await register(svc, {
      service: "authsvc",
      addr: "127.0.0.1:7200",
      ttl: 10,
      backoff: { initialMs: 50, maxMs: 500 },
    });
    cleanups.push(() => r.close());
    const lease = r.leaseId;
    const lost = lostEvents(r);
    const retries: Error[] = [];
    r.on("retry", (e) => retries.push(e));
    // Write-only on the service: etcd refuses the watch when it is created again on a new stream
    // (existing watches go on), and every read; the key itself and its lease are untouched.
    cleanups.push(() =>
      asRoot(["role", "grant-permission", "svc", "--prefix=true", "readwrite", "authsvc/"]),
    );
    await asRoot(["role", "revoke-permission", "svc", "--prefix=true", "authsvc/"]);
    await asRoot(["role", "grant-permission", "svc", "--prefix=true", "write", "authsvc/"]);
    proxy.cut();
    await until(
      "a refused check of the key",
      () => lost.length > 0 || retries.some((e) => e instanceof PermissionDeniedError),
    );
    expect(lost).toEqual([]);
    expect([r.state, r.leaseId]).toEqual(["registered", lease]);
    const restoredAt = performance.now();
    await asRoot(["role", "grant-permission", "svc", "--prefix=true", "readwrite", "authsvc/"]);
    await until("a read of the key that succeeds", () =>
      tap.of("Range", restoredAt).some((c) => c.outcome === true),
    );
    expect(lost).toEqual([]);
    expect([r.state, r.leaseId]).toEqual(["registered", lease]);
    // Followed again: a deletion by hand is lost with its true reason, and the instance comes back.
    expect((await deleteAndAwaitReturn(r, admin)).reason).toBe("key-deleted");
    expect(lost).toHaveLength(1);
  }, 60_000);

  it("comes back after etcd is killed (SIGKILL) and restarted, without a storm of grants", async () => {
    const tap = new CallTap();
    const svc = tap.client({
      endpoints: cluster.endpoint,
      timeoutMs: 3000,
      auth: { username: "svc", password: SVC_PW },
    });
    cleanups.push(() => svc.close());
    const r = await register(svc, {
      service: "authsvc",
      addr: "127.0.0.1:7201",
      ttl: 30,
      backoff: { initialMs: 50, maxMs: 500 },
    });
    cleanups.push(() => r.close());
    const lost = lostEvents(r);
    // Nothing uses the client's token for 3 s: it expires, and the watch stream reopened after the
    // restart carries a dead token (every watch created on it is refused).
    await new Promise((resolve) => setTimeout(resolve, 3000));
    const member = cluster.members[0]!;
    await member.kill();
    await member.start();
    await until(
      "registered, key under its lease",
      async () => r.state === "registered" && (await admin.get(r.key))?.lease === r.leaseId,
      30_000,
    );
    // The lease (30 s) outlived the restart: nothing was lost.
    expect(lost).toEqual([]);
    expect((await deleteAndAwaitReturn(r, admin)).reason).toBe("key-deleted");
    expectAtMostTwoGrantsPerSecond(tap);
  }, 60_000);
});
