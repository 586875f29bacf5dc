import { compare, Etcd, op } from "../../src/index.js";
import type { BenchClient } from "./types.js";

/** The `Etcd` API of etcd-ts with its default transport: what users call. */
export function createEtcdTsClient(endpoint: string): BenchClient {
  const etcd = new Etcd({ endpoints: [endpoint] });
  return {
    name: "etcd-ts",
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
