/**
 * `npm run example`: starts a throwaway etcd from the test kit (a local `etcd` binary), runs the KV,
 * txn and error-handling examples against it, and tears everything down.
 */
import { startEtcd } from "../src/testing/index.js";
import { main as errors } from "./errors.js";
import { main as kv } from "./kv.js";
import { main as txn } from "./txn.js";

await using etcd = await startEtcd();
console.log(`throwaway etcd at ${etcd.endpoint}\n`);
for (const [name, run] of [
  ["kv", kv],
  ["txn", txn],
  ["errors", errors],
] as const) {
  console.log(`--- examples/${name}.ts`);
  await run(etcd.endpoints);
  console.log();
}
console.log("done; the throwaway etcd is stopped and its data removed");
