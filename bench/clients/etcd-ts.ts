import * as current from "../../src/index.js";
import type { BenchClient } from "./types.js";

/** What the client needs of the package: this checkout's, or another checkout's (BENCH_BASELINE). */
type EtcdTsModule = Pick<typeof current, "compare" | "Etcd" | "op">;

/**
 * The `Etcd` API of etcd-ts with its default transport: what users call. `module` is another checkout's
 * `src/index.ts` when a run compares two versions of etcd-ts (BENCH_BASELINE), named `name`; `options`
 * are the client's own (the `gateway` client passes the gateway transport).
 */
export function createEtcdTsClient(
  endpoint: string,
  module: EtcdTsModule = current,
  name = "etcd-ts",
  options: Omit<current.EtcdOptions, "endpoints"> = {},
): BenchClient {
  const { compare, Etcd, op } = module;
  const etcd = new Etcd({ ...options, endpoints: [endpoint] });
  return {
    name,
    async put(key, value) {
      await etcd.put(key, value);
    },
    async get(key) {
      await etcd.get(key);
    },
    async txn10(keys, value) {
      await etcd
        .txn()
        .if(compare.version(keys[0]!, "<", 1_000_000_000n))
        .onSuccess(...keys.map((k) => op.put(k, value)))
        .commit();
    },
    close: () => etcd.close(),
  };
}
