import { afterAll, beforeAll, expect, it } from "vitest";
import { compare, Election, Etcd, op, Session } from "../../src/client/index.js";
import { type EtcdCluster, startEtcd } from "../../src/testing/index.js";
import { until } from "../support/wait.js";

/**
 * 6 candidates over 3 clients of a 3-member cluster; a fourth client revokes the current leader's
 * lease again and again, and the raft leader is killed mid-run. After each revocation exactly one new
 * leader must be elected (etcd3 #158 / #176 elected two). Each leader also writes a "term" key with a txn
 * guarded by `isLeader()` and the term's mod revision as it read it: a failure while its key is still
 * its own would mean two leaders at once.
 */
const CANDIDATES = 6;
const ROUNDS = 5;
const PREFIX = "safety/election";
const TERM = "safety/term";

let cluster: EtcdCluster;
const clients: Etcd[] = [];

beforeAll(async () => {
  cluster = await startEtcd({ members: 3 });
  for (let i = 0; i < 4; i++) {
    const endpoints = [...cluster.endpoints.slice(i % 3), ...cluster.endpoints.slice(0, i % 3)];
    clients.push(new Etcd({ endpoints, timeoutMs: 5_000 }));
  }
});
afterAll(async () => {
  for (const c of clients) await c.close();
  await cluster?.close();
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The chaos client's own calls may hit the killed member: try again for a while (a hang guard). */
async function retry<T>(fn: () => Promise<T>): Promise<T> {
  const deadline = Date.now() + 20_000;
  for (;;) {
    try {
      return await fn();
    } catch (err) {
      if (Date.now() > deadline) throw err;
      await sleep(250);
    }
  }
}

it("a lost leader lease elects exactly one new leader, through a raft leader kill", async () => {
  const chaos = clients[3]!;
  await chaos.put(TERM, "none");
  const stop = new AbortController();
  const elections: { candidate: number; at: number; key: string }[] = [];
  const violations: string[] = [];
  let termWrites = 0;
  /** Term writes by election key. */
  const termWritesBy = new Map<string, number>();

  async function candidate(i: number): Promise<void> {
    const etcd = clients[i % 3]!;
    while (!stop.signal.aborted) {
      let session: Session;
      try {
        session = await Session.create(etcd, { ttl: 5 });
      } catch {
        await sleep(50);
        continue;
      }
      const election = new Election(session, PREFIX);
      try {
        await election.campaign(`cand-${i}`, { signal: stop.signal });
      } catch {
        session.orphan();
        continue;
      }
      elections.push({ candidate: i, at: Date.now(), key: election.key });
      let lost = false;
      void election.closed.then(() => {
        lost = true;
      });
      while (!lost && !stop.signal.aborted) {
        try {
          const term = (await etcd.get(TERM))!;
          const res = await etcd
            .txn()
            .if(election.isLeader(), compare.modRevision(TERM, "=", term.modRevision))
            .onSuccess(op.put(TERM, `cand-${i}`))
            .onFailure(op.get(election.key), op.get(TERM))
            .commit();
          if (res.succeeded) {
            termWrites++;
            termWritesBy.set(election.key, (termWritesBy.get(election.key) ?? 0) + 1);
          } else if (res.results[0].kvs[0]?.createRevision === election.revision)
            violations.push(
              `cand-${i} still led with ${election.key} but ${res.results[1].kvs[0]?.text()} wrote the term`,
            );
        } catch {
          // Unavailable during the raft leader kill: try again.
        }
        await sleep(20);
      }
      await election.resign().catch(() => {});
      session.orphan();
    }
  }

  const running = Array.from({ length: CANDIDATES }, (_, i) => candidate(i));
  const perRound: number[] = [];
  const observer = new Election(await Session.create(chaos, { ttl: 5 }), PREFIX);
  try {
    for (let round = 0; round < ROUNDS; round++) {
      // Wait for a leader, then revoke its lease from the outside.
      let leader: Awaited<ReturnType<typeof observer.leader>>;
      await until(`round ${round}: a leader`, async () => {
        leader = await retry(() => observer.leader());
        return leader !== undefined;
      });
      const key = leader!.keyText();
      // The first key is the leader as soon as it is put, but its campaign resolves a moment later
      // (after checking its key survived): count elections only once that one is recorded. Revoke once
      // it has written a term under its guard, so every round exercises the guard.
      await until(`round ${round}: the leader's campaign to resolve`, () =>
        elections.some((e) => e.key === key),
      );
      await until(`round ${round}: the leader to write a term`, () => (termWritesBy.get(key) ?? 0) > 0);
      const revokedAt = Date.now();
      await retry(() =>
        chaos.lease.revoke(leader!.lease).catch((e: Error) => {
          if (e.name !== "LeaseNotFoundError") throw e; // an earlier attempt did it
        }),
      );
      // Mid-run, the election has to complete while raft elects a new leader too.
      if (round === 2) await (await cluster.leader()).kill();
      // A new leader (another key) must show up, bounded.
      let next: Awaited<ReturnType<typeof observer.leader>>;
      await until(`round ${round}: a new leader`, async () => {
        next = await observer.leader().catch(() => undefined);
        return next !== undefined && next.keyText() !== key;
      });
      await until(`round ${round}: the new leader's campaign to resolve`, () =>
        elections.some((e) => e.key === next!.keyText()),
      );
      // A second election (two leaders) would resolve alongside it: give it the moment it would take.
      await sleep(400);
      const elected = elections.filter((e) => e.at >= revokedAt);
      perRound.push(elected.length);
      expect(
        elected.map((e) => e.key),
        `round ${round}`,
      ).toEqual([next!.keyText()]);
    }
  } finally {
    stop.abort();
    await Promise.all(running);
    observer.session.orphan();
  }
  console.log(
    JSON.stringify({ perRound, termWrites, violations: violations.length, elections: elections.length }),
  );
  expect(violations).toEqual([]);
  expect(perRound).toEqual(new Array(ROUNDS).fill(1));
  expect(termWrites).toBeGreaterThanOrEqual(ROUNDS);
}, 120_000);
