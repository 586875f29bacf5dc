import { afterAll, beforeAll, expect, it } from "vitest";
import { compare, Election, Etcd, op, Session } from "../../src/client/index.js";
import { type EtcdCluster, startEtcd } from "../../src/testing/index.js";

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

/** The chaos client's own calls may hit the killed member: try again, bounded. */
async function retry<T>(fn: () => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await fn();
    } catch (err) {
      if (attempt >= 20) throw err;
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
      election.lost.catch(() => {
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
          if (res.succeeded) termWrites++;
          else if (res.results[0].kvs[0]?.createRevision === election.revision)
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
      let leader = await retry(() => observer.leader());
      for (let w = 0; !leader && w < 200; w++) {
        await sleep(25);
        leader = await retry(() => observer.leader());
      }
      expect(leader, `round ${round}: no leader`).toBeDefined();
      // The first key is the leader as soon as it is put, but its campaign resolves a moment later
      // (after checking its key survived): count elections only once that one is recorded.
      for (let w = 0; !elections.some((e) => e.key === leader!.keyText()) && w < 200; w++) await sleep(25);
      expect(
        elections.map((e) => e.key),
        `round ${round}: leader's campaign never resolved`,
      ).toContain(leader!.keyText());
      const revokedAt = Date.now();
      await retry(() =>
        chaos.lease.revoke(leader!.lease).catch((e: Error) => {
          if (e.name !== "LeaseNotFoundError") throw e; // an earlier attempt did it
        }),
      );
      // Mid-run, the election has to complete while raft elects a new leader too.
      if (round === 2) await (await cluster.leader()).kill();
      // A new leader (another key) must show up, bounded.
      let next = await observer.leader().catch(() => undefined);
      for (let w = 0; (!next || next.keyText() === leader!.keyText()) && w < 600; w++) {
        await sleep(25);
        next = await observer.leader().catch(() => undefined);
      }
      expect(next && next.keyText() !== leader!.keyText(), `round ${round}: no new leader`).toBe(true);
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
  expect(termWrites).toBeGreaterThan(ROUNDS);
}, 60_000);
