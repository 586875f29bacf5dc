import { afterAll, beforeAll, expect, it } from "vitest";
import { compare, Etcd, Mutex, op, Session } from "../../src/client/index.js";
import { type EtcdCluster, startEtcd } from "../../src/testing/index.js";
import { until } from "../support/wait.js";

/**
 * 20 contenders on one Mutex over 3 clients of a 3-member cluster, while a fourth client revokes
 * random contenders' leases and the raft leader is killed mid-run. Inside the lock each contender
 * increments a counter with a txn guarded by its ownership AND the counter's mod revision as read in
 * the critical section: if the guard fails while its lock key is still its own, someone else wrote the
 * counter while it held the lock, i.e. the lock was held twice.
 *
 * The run is measured in progress, not time: the leader is killed once the lock was taken CONTENDERS
 * times, and the run stops once every contender took it again after the kill (and 3 leases were
 * revoked). A slow machine makes it longer, never thinner.
 */
const CONTENDERS = 20;
/** A lock wait this long means a waiter was forgotten (what "never waits forever" is about), not a slow machine. */
const LOCK_WAIT_MS = 30_000;
/** Revocations stop after this many, so that the run converges however slowly the lock goes round. */
const MAX_REVOKES = 30;
const COUNTER = "safety/counter";
const LOCK = "safety/lock";

let cluster: EtcdCluster;
const clients: Etcd[] = [];

beforeAll(async () => {
  cluster = await startEtcd({ members: 3 });
  for (let i = 0; i < 4; i++) {
    // Rotate the endpoint order so the clients pin different members.
    const endpoints = [...cluster.endpoints.slice(i % 3), ...cluster.endpoints.slice(0, i % 3)];
    clients.push(new Etcd({ endpoints, timeoutMs: 5_000 }));
  }
});
afterAll(async () => {
  for (const c of clients) await c.close();
  await cluster?.close();
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

it("never holds the lock twice and never waits forever, through lease losses and a leader kill", async () => {
  const chaos = clients[3]!;
  await chaos.put(COUNTER, "0");
  const stats = {
    acquired: 0,
    increments: 0,
    unknownOutcome: 0,
    violations: [] as string[],
    lockTimeouts: 0,
    lockErrors: new Map<string, number>(),
    revoked: 0,
    perContender: new Array<number>(CONTENDERS).fill(0),
    /** Acquisitions made once the raft leader was killed. */
    afterKill: new Array<number>(CONTENDERS).fill(0),
  };
  const current = new Array<Session | undefined>(CONTENDERS);
  const stop = new AbortController();
  let killed = false;

  async function contender(i: number): Promise<void> {
    const etcd = clients[i % 3]!;
    let session: Session | undefined;
    while (!stop.signal.aborted) {
      try {
        if (session?.state !== "alive") {
          session?.orphan();
          session = await Session.create(etcd, { ttl: 5 });
          current[i] = session;
        }
      } catch {
        await sleep(50);
        continue;
      }
      const mutex = new Mutex(session, LOCK);
      try {
        await mutex.lock({ timeoutMs: LOCK_WAIT_MS });
      } catch (err) {
        const name = (err as Error).name;
        // The lease went (revoked by the chaos client): start a new session.
        if (name === "SessionExpiredError") session.orphan();
        if ((err as Error).message.includes("mutex lock timed out")) stats.lockTimeouts++;
        stats.lockErrors.set(name, (stats.lockErrors.get(name) ?? 0) + 1);
        continue;
      }
      stats.acquired++;
      stats.perContender[i]!++;
      if (killed) stats.afterKill[i]!++;
      try {
        const counter = (await etcd.get(COUNTER))!;
        await sleep(Math.random() * 5);
        const res = await etcd
          .txn()
          .if(mutex.isOwner(), compare.modRevision(COUNTER, "=", counter.modRevision))
          .onSuccess(op.put(COUNTER, String(Number(counter.text()) + 1)))
          .onFailure(op.get(mutex.key), op.get(COUNTER))
          .commit();
        if (res.succeeded) stats.increments++;
        else {
          const [mine, now] = res.results;
          if (mine.kvs[0]?.createRevision === mutex.revision)
            stats.violations.push(
              `contender ${i} still owned ${mutex.key}@${mutex.revision} but the counter moved from ${counter.modRevision} to ${now.kvs[0]?.modRevision}`,
            );
        }
      } catch {
        // Unavailable / deadline during the leader kill: the write may or may not have happened.
        stats.unknownOutcome++;
      } finally {
        await mutex.unlock().catch(() => {});
      }
    }
    session?.orphan();
  }

  /** Revokes a random contender's lease every 300-700 ms; kills the raft leader once the lock went round. */
  async function chaosMonkey(): Promise<void> {
    while (!stop.signal.aborted) {
      await sleep(300 + Math.random() * 400);
      if (stop.signal.aborted) break;
      const victim = current[Math.floor(Math.random() * CONTENDERS)];
      if (victim?.state === "alive" && stats.revoked < MAX_REVOKES) {
        await chaos.lease.revoke(victim.leaseId).then(
          () => stats.revoked++,
          () => {},
        );
      }
      if (!killed && stats.acquired >= CONTENDERS) {
        const leader = await cluster.leader();
        await leader.kill();
        killed = true;
      }
    }
  }

  const run = Promise.all([
    Promise.all(Array.from({ length: CONTENDERS }, (_, i) => contender(i))),
    chaosMonkey(),
  ]);
  try {
    await until(
      "every contender to take the lock after the leader kill (and 3 revocations)",
      () => killed && stats.revoked >= 3 && stats.afterKill.every((n) => n > 0),
      60_000,
      100,
    );
  } finally {
    stop.abort();
    // Bounded: every contender ends its last round within the lock wait bound once stopped.
    const bound = sleep(LOCK_WAIT_MS + 10_000).then(() => "stuck" as const);
    expect(await Promise.race([run, bound]), "a contender never finished its round").not.toBe("stuck");
  }

  const final = Number((await chaos.get(COUNTER))!.text());
  const summary = { ...stats, lockErrors: Object.fromEntries(stats.lockErrors), final, killed };
  console.log(JSON.stringify(summary));
  expect(stats.violations).toEqual([]);
  expect(stats.lockTimeouts).toBe(0);
  expect(killed).toBe(true);
  expect(stats.revoked).toBeGreaterThanOrEqual(3);
  expect(stats.acquired).toBeGreaterThan(CONTENDERS);
  expect(stats.afterKill.every((n) => n > 0)).toBe(true);
  // Every increment that reported success is in the counter; at most the unknown-outcome ones more.
  expect(final).toBeGreaterThanOrEqual(stats.increments);
  expect(final).toBeLessThanOrEqual(stats.increments + stats.unknownOutcome);
}, 150_000);
