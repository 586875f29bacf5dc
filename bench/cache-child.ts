/**
 * Child process of `bench/cache.ts`, so that the writes' CPU is not counted in the parent's.
 * `update <endpoint> <prefix> <keys> <updates> <batch>`: rewrites `updates` of the `keys` entries written
 * by the parent (keys picked pseudo-randomly), as single puts (64 in flight) when `batch` is 1, else as
 * txns of `batch` puts (8 in flight); then prints "done" and exits.
 */
import { Etcd, op } from "../src/index.js";
import { benchKey, benchValue } from "./cache-support.js";
import { inBatches } from "./discovery-support.js";

const [mode, endpoint, prefix, a, b, c] = process.argv.slice(2);
const etcd = new Etcd({ endpoints: [endpoint!] });

if (mode === "update") {
  const keys = Number(a);
  const updates = Number(b);
  const batch = Number(c);
  // A fixed stride through the keys: every update hits another key, spread over every leaf.
  const pick = (i: number) => (i * 7919) % keys;
  if (batch === 1) {
    await inBatches(updates, 64, (i) => etcd.put(benchKey(prefix!, pick(i)), benchValue(i)));
  } else {
    await inBatches(Math.ceil(updates / batch), 8, (t) =>
      etcd
        .txn()
        .onSuccess(
          ...Array.from({ length: Math.min(batch, updates - t * batch) }, (_, j) => {
            const i = t * batch + j;
            return op.put(benchKey(prefix!, pick(i)), benchValue(i));
          }),
        )
        .commit(),
    );
  }
  console.log("done");
} else {
  console.error(`unknown mode ${mode}`);
  process.exitCode = 2;
}
await etcd.close();
