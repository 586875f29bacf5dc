import { Code, ConnectError } from "@connectrpc/connect";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  AbortedError,
  ClosedError,
  compare,
  DeadlineExceededError,
  Election,
  ElectionNotLeaderError,
  Etcd,
  LockLostError,
  Mutex,
  op,
  runStm,
  Session,
  SessionExpiredError,
  StmConflictError,
} from "../../src/client/index.js";
import { type EtcdCluster, FaultProxy } from "../../src/testing/index.js";
import { CallTap } from "../support/call-tap.js";
import { useEtcd } from "../support/etcd-fixture.js";
import { enableAuth, etcdctl } from "../support/etcdctl.js";
import { ended, lossOf } from "../support/lifecycle.js";
import { until, within } from "../support/wait.js";

const env = useEtcd();
let cluster: EtcdCluster;
let etcd: Etcd;
let other: Etcd;
const sessions: Session[] = [];

beforeAll(() => {
  cluster = env.cluster;
  etcd = env.client();
  other = env.client();
});
afterAll(() => {
  for (const s of sessions) s.orphan();
});

async function session(ttl = 10, client = etcd): Promise<Session> {
  const s = await Session.create(client, { ttl });
  sessions.push(s);
  return s;
}

async function waitForKeys(prefix: string, n: number): Promise<void> {
  for (let i = 0; i < 100; i++) {
    if ((await etcd.range({ prefix }, { countOnly: true })).count >= BigInt(n)) return;
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error(`${prefix}: fewer than ${n} keys`);
}

/** A plain guarded read-modify-write transfer by another client: the conflicting writer. */
async function transferOutside(from: string, to: string, amount: number): Promise<void> {
  for (;;) {
    const [a, b] = [await other.get(from), await other.get(to)];
    const res = await other
      .txn()
      .if(compare.modRevision(from, "=", a!.modRevision), compare.modRevision(to, "=", b!.modRevision))
      .onSuccess(
        op.put(from, String(Number(a!.text()) - amount)),
        op.put(to, String(Number(b!.text()) + amount)),
      )
      .commit();
    if (res.succeeded) return;
  }
}

/** Records how `p` settles, without handling it for the caller. */
function outcome(p: Promise<unknown>): { error: unknown; done: boolean } {
  const o = { error: undefined as unknown, done: false };
  p.then(
    () => {
      o.done = true;
    },
    (e) => {
      o.error = e;
      o.done = true;
    },
  );
  return o;
}

const settled = async (p: Promise<unknown>, ms = 300): Promise<boolean> => {
  let done = false;
  p.then(
    () => {
      done = true;
    },
    () => {
      done = true;
    },
  );
  await new Promise((r) => setTimeout(r, ms));
  return done;
};

describe("Session", () => {
  it("keeps a lease alive, revokes it on close, and reports loss through closed, signal and close", async () => {
    const s = await Session.create(etcd, { ttl: 5 });
    expect(s.state).toBe("alive");
    expect((await etcd.lease.timeToLive(s.leaseId)).ttl).toBeGreaterThan(0);
    await s.close();
    expect(await s.closed).toBeUndefined();
    expect(s.signal.reason).toBeInstanceOf(ClosedError);
    expect((await etcd.lease.timeToLive(s.leaseId)).ttl).toBe(-1);

    const t = await Session.create(etcd, { ttl: 2 });
    const closeEvent = new Promise((resolve) => t.once("close", resolve));
    const signal = t.signal;
    await other.lease.revoke(t.leaseId);
    expect(await t.closed).toMatchObject({ name: "LeaseLostError" });
    expect(await closeEvent).toBe(await t.closed);
    expect(signal.reason).toBe(await t.closed);
    expect(t.state).toBe("closed");
  });

  it("uses a 60 s TTL by default", async () => {
    const s = await Session.create(etcd);
    expect(s.lease.grantedTtl).toBe(60);
    await s.close();
  });
});

describe("Mutex", () => {
  it("locks with Go's key layout, serializes holders, and unlocks", async () => {
    const a = new Mutex(await session(), "locks/m1");
    const b = new Mutex(await session(), "locks/m1");
    await a.lock();
    expect(a.key).toBe(`locks/m1/${a.session.leaseId.toString(16)}`);
    const kv = await etcd.get(a.key);
    expect(kv?.value.length).toBe(0);
    expect(kv?.lease).toBe(a.session.leaseId);
    expect(a.revision).toBe(kv?.createRevision);

    const bLocked = b.lock();
    expect(await settled(bLocked)).toBe(false);
    // The holder's fence works while it holds.
    const fenced = await etcd.txn().if(a.isOwner()).onSuccess().commit();
    expect(fenced.succeeded).toBe(true);
    await a.unlock();
    await bLocked;
    expect(b.held).toBe(true);
    expect(b.revision).toBeGreaterThan(kv!.createRevision);
    const stale = await etcd.txn().if(a.isOwner()).onSuccess().commit();
    expect(stale.succeeded).toBe(false);
    await b.unlock();
    expect((await etcd.range({ prefix: "locks/m1/" })).kvs).toHaveLength(0);
  });

  it("a session serves many lock rounds without accumulating listeners", async () => {
    const s = await session();
    const before = s.listenerCount("close");
    for (let i = 0; i < 15; i++) {
      const m = new Mutex(s, "locks/rounds");
      await m.lock();
      await m.unlock();
    }
    expect(s.listenerCount("close")).toBe(before);
  });

  it("locking again while held returns at once with the same key (as Go)", async () => {
    const m = new Mutex(await session(), "locks/again");
    await m.lock();
    const [key, revision] = [m.key, m.revision];
    await m.lock({ timeoutMs: 1_000 });
    expect([m.key, m.revision]).toEqual([key, revision]);
    expect((await etcd.range({ prefix: "locks/again/" })).kvs).toHaveLength(1);
    await m.unlock();
  });

  it("tryLock answers false while busy and leaves no waiter key", async () => {
    const a = new Mutex(await session(), "locks/try");
    const b = new Mutex(await session(), "locks/try");
    expect(await a.tryLock()).toBe(true);
    expect(await b.tryLock()).toBe(false);
    expect(b.held).toBe(false);
    expect((await etcd.range({ prefix: "locks/try/" })).kvs.map((k) => k.keyText())).toEqual([a.key]);
    await a.unlock();
    expect(await b.tryLock()).toBe(true);
    await b.unlock();
  });

  it("a wait ends on abort or timeout with a typed error and removes the waiter key", async () => {
    const a = new Mutex(await session(), "locks/abort");
    await a.lock();
    const b = new Mutex(await session(), "locks/abort");
    const ac = new AbortController();
    const p = b.lock({ signal: ac.signal });
    await new Promise((r) => setTimeout(r, 200));
    ac.abort();
    await expect(p).rejects.toBeInstanceOf(AbortedError);
    await expect(b.lock({ timeoutMs: 300 })).rejects.toBeInstanceOf(DeadlineExceededError);
    expect((await etcd.range({ prefix: "locks/abort/" })).kvs.map((k) => k.keyText())).toEqual([a.key]);
    await a.unlock();
  });

  it("a waiter whose lease is lost fails with SessionExpiredError instead of taking the lock", async () => {
    const a = new Mutex(await session(), "locks/expire");
    await a.lock();
    const b = new Mutex(await session(), "locks/expire");
    const p = b.lock({ timeoutMs: 10_000 });
    await new Promise((r) => setTimeout(r, 200));
    await other.lease.revoke(b.session.leaseId);
    await expect(p).rejects.toBeInstanceOf(SessionExpiredError);
    await a.unlock();
  });

  it("a holder learns through lost when its lease is revoked elsewhere", async () => {
    const a = new Mutex(await session(), "locks/lost");
    await a.lock();
    const lost = ended(a.closed);
    expect(await settled(lost, 100)).toBe(false);
    await other.lease.revoke(a.session.leaseId);
    await expect(lost).rejects.toBeInstanceOf(LockLostError);
  });

  it("contends with a Go client's raw keys both ways (same layout)", async () => {
    // The "Go client": its own lease, a key <prefix>/<lease hex> with an empty value, as Go's Mutex writes.
    const goLease = await other.lease.grant(10);
    const goKey = `locks/go/${goLease.id.toString(16)}`;
    await other.put(goKey, "", { lease: goLease.id });
    const m = new Mutex(await session(), "locks/go");
    const p = m.lock();
    expect(await settled(p)).toBe(false); // waits for the Go holder
    await other.delete(goKey); // Go's Unlock
    await p;
    // Vice versa: a Go waiter puts its key; Go's rule (smallest create revision owns) says it must wait.
    await other.put(goKey, "", { lease: goLease.id });
    const owner = await etcd.range(
      { prefix: "locks/go/" },
      { sort: { target: "create", order: "ascend" }, limit: 1 },
    );
    expect(owner.kvs[0]?.keyText()).toBe(m.key);
    await m.unlock();
    const after = await etcd.range(
      { prefix: "locks/go/" },
      { sort: { target: "create", order: "ascend" }, limit: 1 },
    );
    expect(after.kvs[0]?.keyText()).toBe(goKey);
    await goLease.revoke();
  });
});

describe("Mutex across an etcd restart", () => {
  it("a holder keeps its lock and a waiter its place when etcd is killed (SIGKILL) and restarted", async () => {
    const holder = new Mutex(await session(30), "locks/restart");
    await holder.lock();
    const held = outcome(lossOf(holder.closed));
    const waiter = new Mutex(await session(30, other), "locks/restart");
    const locking = waiter.lock({ timeoutMs: 40_000 });
    const waiting = outcome(locking);
    await waitForKeys("locks/restart/", 2);
    const member = cluster.members[0]!;
    await member.kill();
    await member.start();
    // Both clients work again (their sessions' leases, 30 s, outlived the restart).
    await etcd.get("locks/restart/");
    await other.get("locks/restart/");
    expect([held, waiting]).toEqual([
      { error: undefined, done: false },
      { error: undefined, done: false },
    ]);
    await holder.unlock();
    await within(locking, "the waiter's lock");
    expect(waiter.held).toBe(true);
    await waiter.unlock();
  }, 60_000);
});

describe("Election", () => {
  it("campaign, leader, proclaim, observe, resign", async () => {
    const e1 = new Election(await session(), "elect/a");
    const e2 = new Election(await session(), "elect/a");
    const watcher = new Election(await session(), "elect/a");
    expect(await watcher.leader()).toBeUndefined();
    const ac = new AbortController();
    const seen: string[] = [];
    const observing = (async () => {
      for await (const kv of watcher.observe({ signal: ac.signal })) {
        seen.push(kv.text());
        if (seen.length === 3) break;
      }
    })();
    await e1.campaign("one");
    expect((await watcher.leader())?.text()).toBe("one");
    expect(e1.key).toBe(`elect/a/${e1.session.leaseId.toString(16)}`);
    const c2 = e2.campaign("two");
    expect(await settled(c2)).toBe(false);
    await e1.proclaim("one-b");
    await expect(e2.proclaim("x")).rejects.toBeInstanceOf(ElectionNotLeaderError);
    await e1.resign();
    await c2;
    expect((await watcher.leader())?.text()).toBe("two");
    await observing;
    ac.abort();
    expect(seen).toEqual(["one", "one-b", "two"]);
    await e2.resign();
    expect(await watcher.leader()).toBeUndefined();
  });

  it("when the leader's lease is lost, exactly one waiting candidate becomes leader", async () => {
    const cands = await Promise.all(
      [1, 2, 3, 4].map(async () => new Election(await session(), "elect/loss")),
    );
    await cands[0]!.campaign("c0");
    const lostLeader = ended(cands[0]!.closed);
    const won: number[] = [];
    const pending: Promise<unknown>[] = [];
    for (const [i, c] of cands.slice(1).entries()) {
      pending.push(
        c.campaign(`c${i + 1}`, { timeoutMs: 8_000 }).then(
          () => won.push(i + 1),
          () => {},
        ),
      );
      // Queue them in a known order: the next one starts once this one's key exists.
      await waitForKeys("elect/loss/", i + 2);
    }
    await new Promise((r) => setTimeout(r, 300));
    expect(won).toEqual([]);
    await other.lease.revoke(cands[0]!.session.leaseId);
    await expect(lostLeader).rejects.toBeInstanceOf(LockLostError);
    await new Promise((r) => setTimeout(r, 1_000));
    expect(won).toEqual([1]); // the oldest remaining candidate, and only it
    const leader = await cands[1]!.leader();
    expect(leader?.text()).toBe("c1");
    // The others still wait: resigning the new leader hands over to exactly the next one.
    await cands[1]!.resign();
    await new Promise((r) => setTimeout(r, 500));
    expect(won).toEqual([1, 2]);
    await cands[2]!.resign();
    await Promise.all(pending);
    expect(won).toEqual([1, 2, 3]);
    await cands[3]!.resign();
  });
});

describe("STM", () => {
  const levels = ["serializableSnapshot", "serializable", "repeatableReads"] as const;
  for (const isolation of levels) {
    it(`${isolation}: transfers keep the total under a concurrent writer`, async () => {
      const pfx = `bank/${isolation}/`;
      const accounts = 5;
      for (let i = 0; i < accounts; i++) await etcd.put(`${pfx}${i}`, "100");
      let injected = false;
      let attempts = 0;
      const transfers = Array.from({ length: 12 }, async (_, n) => {
        const from = `${pfx}${n % accounts}`;
        const to = `${pfx}${(n + 1) % accounts}`;
        const res = await runStm(
          n % 2 === 0 ? etcd : other,
          async (stm) => {
            const a = Number(await stm.get(from));
            const b = Number(await stm.get(to));
            if (!injected) {
              // A conflicting writer moves money (atomically) between the reads and the commit.
              injected = true;
              await transferOutside(from, to, 7);
            }
            stm.put(from, String(a - 10));
            stm.put(to, String(b + 10));
          },
          { isolation },
        );
        attempts += res.attempts;
      });
      await Promise.all(transfers);
      const total = (await etcd.range({ prefix: pfx })).kvs.reduce((s, kv) => s + Number(kv.text()), 0);
      expect(total).toBe(accounts * 100);
      expect(attempts).toBeGreaterThan(12); // at least the injected conflict was retried
    });
  }

  it("readCommitted does not check conflicts: a concurrent write is overwritten (as in Go)", async () => {
    await etcd.put("bank/rc/a", "100");
    const res = await runStm(
      etcd,
      async (stm) => {
        const a = Number(await stm.get("bank/rc/a"));
        await other.put("bank/rc/a", String(a + 50));
        stm.put("bank/rc/a", String(a - 10));
      },
      { isolation: "readCommitted" },
    );
    expect(res.attempts).toBe(1);
    expect((await etcd.get("bank/rc/a"))?.text()).toBe("90");
  });

  it("serializableSnapshot also retries when a key it only writes changed after its first read", async () => {
    await etcd.put("snap/r", "1");
    await etcd.put("snap/w", "0");
    let first = true;
    const run = (isolation: "serializableSnapshot" | "serializable") =>
      runStm(
        etcd,
        async (stm) => {
          await stm.get("snap/r");
          if (first) {
            first = false;
            await other.put("snap/w", "other");
          }
          stm.put("snap/w", "mine");
        },
        { isolation },
      );
    expect((await run("serializableSnapshot")).attempts).toBe(2);
    first = true;
    expect((await run("serializable")).attempts).toBe(1);
  });

  it("gives up with StmConflictError (ABORTED) after maxAttempts conflicted attempts, committing nothing", async () => {
    await etcd.put("stm-max/a", "0");
    let runs = 0;
    const conflicting = runStm(
      etcd,
      async (stm) => {
        runs++;
        await stm.get("stm-max/a");
        // Every attempt meets a write between its read and its commit.
        await other.put("stm-max/a", `other-${runs}`);
        stm.put("stm-max/a", "mine");
      },
      { maxAttempts: 3 },
    );
    const error = await conflicting.catch((e: unknown) => e);
    expect(error).toBeInstanceOf(StmConflictError);
    expect((error as StmConflictError).code).toBe(Code.Aborted);
    expect((error as StmConflictError).message).toBe("stm: 3 attempts conflicted");
    expect(runs).toBe(3);
    expect((await etcd.get("stm-max/a"))?.text()).toBe("other-3");

    // A conflict within the limit is retried as without one.
    runs = 0;
    const res = await runStm(
      etcd,
      async (stm) => {
        runs++;
        const n = Number((await stm.get("stm-max/b")) || "0");
        if (runs === 1) await other.put("stm-max/b", "10");
        stm.put("stm-max/b", String(n + 1));
        return n;
      },
      { maxAttempts: 2 },
    );
    expect(res.attempts).toBe(2);
    expect(res.value).toBe(10);
    expect((await etcd.get("stm-max/b"))?.text()).toBe("11");
  });
});

describe("Mutex with auth on (tokens expire after 2 s)", () => {
  const ROOT_PW = "root-Secret-pw-123";
  const WORKER_PW = "worker-Secret-pw-456";
  const authEnv = useEtcd({ start: { args: ["--auth-token-ttl=2"] } });
  const { cleanups } = authEnv;
  let auth: EtcdCluster;
  let root: Etcd;
  const asRoot = (args: string[]) => etcdctl(auth.endpoint, args, [`--user=root:${ROOT_PW}`]);
  const grant = (perm: "readwrite" | "write") =>
    asRoot(["role", "grant-permission", "worker", "--prefix=true", perm, "plock/"]);

  beforeAll(async () => {
    auth = authEnv.cluster;
    const ep = auth.endpoint;
    await enableAuth(ep, {
      rootPassword: ROOT_PW,
      role: {
        name: "worker",
        grants: [["readwrite", "plock/"]],
        users: [{ username: "worker", password: WORKER_PW }],
      },
    });
    root = new Etcd({ endpoints: ep, auth: { username: "root", password: ROOT_PW } });
  });
  afterAll(async () => {
    await root?.close();
  });

  /** A worker client through a fault proxy, its unary calls recorded. */
  async function worker(): Promise<{ etcd: Etcd; proxy: FaultProxy; tap: CallTap }> {
    const proxy = await FaultProxy.start(auth.endpoint);
    const tap = new CallTap();
    const etcd = tap.client({ endpoints: proxy.url, auth: { username: "worker", password: WORKER_PW } });
    cleanups.push(
      () => proxy.close(),
      () => etcd.close(),
    );
    return { etcd, proxy, tap };
  }

  async function workerSession(etcd: Etcd, ttl = 10): Promise<Session> {
    const s = await Session.create(etcd, { ttl });
    cleanups.push(() => s.close().catch(() => {}));
    return s;
  }

  /** Waits until `prefix` holds `n` keys (contenders queued). */
  const keys = (prefix: string, n: number) =>
    within(
      (async () => {
        while ((await root.range({ prefix }, { countOnly: true })).count < BigInt(n))
          await new Promise((r) => setTimeout(r, 20));
      })(),
      `${n} keys under ${prefix}`,
    );

  /** Write-only on the lock prefix: watches created on a new stream are refused, and so are reads. */
  async function revokeRead(): Promise<void> {
    cleanups.push(() => grant("readwrite"));
    await asRoot(["role", "revoke-permission", "worker", "--prefix=true", "plock/"]);
    await grant("write");
  }

  /** The transport's error is a ConnectError: the client makes it a PermissionDeniedError above it. */
  const refusedRead = (tap: CallTap, since: number) =>
    tap
      .of("Range", since)
      .some((c) => c.outcome instanceof ConnectError && c.outcome.code === Code.PermissionDenied);

  it("a waiter whose watch is refused keeps waiting, and takes the lock once it is free", async () => {
    const holder = new Mutex(await Session.create(root, { ttl: 10 }), "plock/w");
    cleanups.push(() => holder.session.close());
    await holder.lock();
    const { etcd, proxy, tap } = await worker();
    const waiter = new Mutex(await workerSession(etcd), "plock/w");
    const locking = waiter.lock({ timeoutMs: 40_000 });
    const waiting = outcome(locking);
    await keys("plock/w/", 2);
    await revokeRead();
    const cutAt = performance.now();
    proxy.cut();
    await until("a refused read by the waiter", () => waiting.done || refusedRead(tap, cutAt));
    expect(waiting).toEqual({ error: undefined, done: false });
    await grant("readwrite");
    await holder.unlock();
    await within(locking, "the waiter's lock");
    expect(waiter.held).toBe(true);
    const owner = await root.range({ prefix: "plock/w/" }, { sort: { target: "create", order: "ascend" } });
    expect(owner.kvs[0]?.keyText()).toBe(waiter.key);
    await waiter.unlock();
  }, 60_000);

  it("a holder whose watch is refused keeps its lock, and still learns when its key is deleted", async () => {
    const { etcd, proxy, tap } = await worker();
    const holder = new Mutex(await workerSession(etcd), "plock/h");
    await holder.lock();
    const lost = ended(holder.closed);
    const held = outcome(lost);
    await revokeRead();
    const cutAt = performance.now();
    proxy.cut();
    await until("a refused read by the holder", () => held.done || refusedRead(tap, cutAt));
    expect(held).toEqual({ error: undefined, done: false });
    const restoredAt = performance.now();
    await grant("readwrite");
    await until("a read by the holder that succeeds", () =>
      tap.of("Range", restoredAt).some((c) => c.outcome === true),
    );
    expect(held).toEqual({ error: undefined, done: false });
    expect(holder.held).toBe(true);
    await root.delete(holder.key);
    await expect(within(lost, "the holder's loss")).rejects.toThrow(/the key was deleted/);
  }, 60_000);

  it("lock and election holders and waiters go on when their watch stream reopens with an expired token", async () => {
    const { etcd, proxy } = await worker();
    const holder = new Mutex(await workerSession(etcd, 30), "plock/t");
    await holder.lock();
    const waiter = new Mutex(await workerSession(etcd, 30), "plock/t");
    const locking = waiter.lock({ timeoutMs: 40_000 });
    const leader = new Election(await workerSession(etcd, 30), "plock/e");
    await leader.campaign("first");
    const candidate = new Election(await workerSession(etcd, 30), "plock/e");
    const campaigning = candidate.campaign("second", { timeoutMs: 40_000 });
    const fates = [
      outcome(lossOf(holder.closed)),
      outcome(locking),
      outcome(lossOf(leader.closed)),
      outcome(campaigning),
    ];
    await keys("plock/t/", 2);
    await keys("plock/e/", 2);
    // Nothing uses the worker's token for 3 s: it expires. A watch stream reopened after the cut with
    // that token has every watch refused (until the client opens streams with a fresh token); reads
    // authenticate again and work.
    await new Promise((resolve) => setTimeout(resolve, 3000));
    proxy.cut();
    // Time for the watch stream to reopen and its watches to be created again (refused or not); no
    // call of ours meanwhile, which would get the client a fresh token first.
    await new Promise((resolve) => setTimeout(resolve, 1000));
    expect(fates.filter((f) => f.done)).toEqual([]);
    await holder.unlock();
    await within(locking, "the waiter's lock");
    expect(waiter.held).toBe(true);
    await leader.resign();
    await within(campaigning, "the candidate's election");
    expect((await candidate.leader())?.text()).toBe("second");
    expect(fates.filter((f) => f.done && f.error !== undefined)).toEqual([]);
    await waiter.unlock();
    await candidate.resign();
  }, 60_000);
});
