/**
 * Transactions: a compare-and-swap counter and "create if absent".
 * Run: `npx tsx examples/txn.ts [endpoint...]` (default http://127.0.0.1:2379).
 */
import { pathToFileURL } from "node:url";
import { compare, Etcd, op } from "../src/index.js";

export async function main(endpoints: string[]) {
  await using etcd = new Etcd({ endpoints });

  // Create the key only if it does not exist yet (version 0 = absent).
  const created = await etcd
    .txn()
    .if(compare.version("counter", "=", 0))
    .onSuccess(op.put("counter", "0"))
    .onFailure(op.get("counter"))
    .commit();
  console.log(created.succeeded ? "counter created" : "counter already there");

  // Compare-and-swap: increment only if nobody changed it since we read it.
  for (;;) {
    const current = await etcd.get("counter");
    const next = String(Number(current?.text() ?? "0") + 1);
    const res = await etcd
      .txn()
      .if(compare.modRevision("counter", "=", current?.modRevision ?? 0n))
      .onSuccess(op.put("counter", next), op.get("counter"))
      .commit(); // runs once, here; a txn is not a promise
    if (res.succeeded) {
      // Results are typed per op: [PutResult, RangeResult].
      const [, read] = res.results;
      console.log(`counter = ${read.kvs[0]?.text()} at revision ${res.revision}`);
      return { created: created.succeeded, value: read.kvs[0]?.text() };
    }
    console.log("lost a race, retrying");
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const endpoints = process.argv.slice(2);
  await main(endpoints.length > 0 ? endpoints : ["http://127.0.0.1:2379"]);
}
