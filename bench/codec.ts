/**
 * `npm run bench:codec`: the default transport's message codec against protobuf-es, in one process, on
 * the messages of the hot calls (no etcd needed). Prints µs per operation and the ratio.
 */
import { create, type DescMessage, fromBinary, type MessageInitShape, toBinary } from "@bufbuild/protobuf";
import { messageCodec } from "../src/client/transport/codec/message-codec.js";
import {
  PutRequestSchema,
  RangeRequestSchema,
  RangeResponseSchema,
  WatchResponseSchema,
} from "../src/gen/etcdserverpb/rpc_pb.js";

const ITERATIONS = Number(process.env.BENCH_CODEC_ITERATIONS ?? 300_000);
const key = new TextEncoder().encode("bench/range");
const value = new Uint8Array(100).fill(0x61);
const header = {
  clusterId: 14841639068965178418n,
  memberId: 10276657743932975437n,
  revision: 123456n,
  raftTerm: 2n,
};
const kv = { key, value, createRevision: 2n, modRevision: 123456n, version: 7n };

/** µs per call of `f`, after a warm-up of a sixth of the iterations. */
function time(f: () => unknown): number {
  for (let i = 0; i < ITERATIONS / 6; i++) f();
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < ITERATIONS; i++) f();
  return Number(process.hrtime.bigint() - t0) / ITERATIONS / 1000;
}

function encodeCase<D extends DescMessage>(name: string, schema: D, init: MessageInitShape<D>): void {
  const codec = messageCodec(schema);
  report(
    `encode ${name}`,
    time(() => toBinary(schema, create(schema, init))),
    time(() => codec.encode(init, 5)),
  );
}

function decodeCase<D extends DescMessage>(name: string, schema: D, init: MessageInitShape<D>): void {
  const bytes = toBinary(schema, create(schema, init));
  const codec = messageCodec(schema);
  report(
    `decode ${name} (${bytes.length} B)`,
    time(() => fromBinary(schema, bytes)),
    time(() => codec.decode(bytes)),
  );
}

function report(name: string, protobufEs: number, ours: number): void {
  console.log(
    `${name.padEnd(36)}${protobufEs.toFixed(2).padStart(10)}${ours.toFixed(2).padStart(10)}${(ours / protobufEs).toFixed(2).padStart(8)}`,
  );
}

console.log(
  `${"µs per call".padEnd(36)}${"protobuf-es".padStart(10)}${"etcd-ts".padStart(10)}${"ratio".padStart(8)}`,
);
encodeCase("RangeRequest", RangeRequestSchema, { key });
encodeCase("PutRequest (100 B value)", PutRequestSchema, { key, value });
decodeCase("RangeResponse, 1 kv", RangeResponseSchema, { header, kvs: [kv], count: 1n });
decodeCase("WatchResponse, 10 events", WatchResponseSchema, {
  header,
  watchId: 3n,
  events: Array.from({ length: 10 }, () => ({ kv, prevKv: kv })),
});
