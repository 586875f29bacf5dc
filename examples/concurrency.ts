/**
 * Concurrency recipes: a lock with a fencing guard, a leader election, and an STM bank transfer.
 * The keys are Go's (`<prefix>/<lease hex>`), so Go programs using `concurrency.NewMutex` on the same
 * prefix take turns with this one.
 * Run: `npx tsx examples/concurrency.ts [endpoint...]` (default http://127.0.0.1:2379).
 */
import { pathToFileURL } from "node:url";
import { compare, Election, Etcd, Mutex, op, runStm, Session } from "../src/index.js";

export async function main(endpoints: string[]) {
  await using etcd = new Etcd({ endpoints });
  // A session is a lease kept alive; every lock and candidate key below is attached to it.
  await using session = await Session.create(etcd, { ttl: 10 });

  // --- Lock: one holder at a time, across processes and languages.
  const mutex = new Mutex(session, "example/locks/report");
  await mutex.lock({ timeoutMs: 5_000 });
  try {
    // The lock is a lease: fence the write so it only lands while we still hold the lock.
    const res = await etcd
      .txn()
      .if(mutex.isOwner())
      .onSuccess(op.put("example/report", `written under lock revision ${mutex.revision}`))
      .commit();
    console.log(res.succeeded ? `wrote the report holding ${mutex.key}` : "lost the lock before writing");
  } finally {
    await mutex.unlock();
  }
  const busy = new Mutex(session, "example/locks/report");
  const gotIt = await busy.tryLock();
  console.log(`tryLock on a free lock: ${gotIt}`);
  await busy.unlock();

  // --- Election: campaign, proclaim, observe, resign.
  const election = new Election(session, "example/election/scheduler");
  await election.campaign("node-a");
  await election.proclaim("node-a (v2)");
  const leader = (await election.leader())?.text();
  console.log(`leader: ${leader}`);
  await election.resign();

  // --- STM: move 10 from alice to bob; retried on conflict, all or nothing.
  await etcd.put("example/bank/alice", "100");
  await etcd.put("example/bank/bob", "50");
  const transfer = await runStm(etcd, async (stm) => {
    const alice = Number(await stm.get("example/bank/alice"));
    const bob = Number(await stm.get("example/bank/bob"));
    if (alice < 10) throw new Error("insufficient funds");
    stm.put("example/bank/alice", String(alice - 10));
    stm.put("example/bank/bob", String(bob + 10));
  });
  const balances = await etcd.range({ prefix: "example/bank/" });
  const total = balances.kvs.reduce((sum, kv) => sum + Number(kv.text()), 0);
  console.log(
    `transfer committed at revision ${transfer.revision} after ${transfer.attempts} attempt(s); total ${total}`,
  );

  const report = await etcd.get("example/report");
  const check = await etcd
    .txn()
    .if(compare.version("example/report", ">", 0))
    .onSuccess()
    .commit();
  return { wroteReport: check.succeeded && report !== undefined, tryLock: gotIt, leader, total };
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const endpoints = process.argv.slice(2);
  await main(endpoints.length > 0 ? endpoints : ["http://127.0.0.1:2379"]);
}
