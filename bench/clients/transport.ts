import { create } from "@bufbuild/protobuf";
import { createClient, type Transport } from "@connectrpc/connect";
import { KV, PutRequestSchema, RangeRequestSchema } from "../../src/gen/etcdserverpb/rpc_pb.js";
import type { BenchClient } from "./types.js";

const encoder = new TextEncoder();

/** Raw KV calls through one of our Connect transports (no client layer above it). */
export function createTransportClient(
  name: string,
  transport: Transport & { close(): Promise<void> },
): BenchClient {
  const kv = createClient(KV, transport);
  return {
    name,
    async put(key, value) {
      await kv.put(create(PutRequestSchema, { key: encoder.encode(key), value }));
    },
    async get(key) {
      await kv.range(create(RangeRequestSchema, { key: encoder.encode(key) }));
    },
    close: () => transport.close(),
  };
}
