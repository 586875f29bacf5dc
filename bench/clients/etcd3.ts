import { Etcd3 } from "etcd3";
import type { BenchClient } from "./types.js";

/** The `etcd3` package (grpc-js underneath), the client we compare against. */
export function createEtcd3Client(endpoint: string): BenchClient {
  const client = new Etcd3({ hosts: endpoint });
  return {
    name: "etcd3",
    async put(key, value) {
      await client.put(key).value(Buffer.from(value.buffer, value.byteOffset, value.byteLength));
    },
    async get(key) {
      await client.get(key).buffer();
    },
    async txn10(keys, value) {
      const buf = Buffer.from(value.buffer, value.byteOffset, value.byteLength);
      await client
        .if(keys[0]!, "Version", "<", 1_000_000_000)
        .then(...keys.map((k) => client.put(k).value(buf)))
        .commit();
    },
    async close() {
      client.close();
    },
  };
}
