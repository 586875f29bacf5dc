/**
 * `npm run bench:hpack`: the HPACK encoder and decoder of the node:net transport (issue 25) on what a gRPC
 * call's headers look like, in one process (no etcd needed). Prints µs per operation. Not a test: no
 * timing is asserted anywhere.
 */
import { HpackDecoder } from "../src/client/transport/h2-net/hpack/decoder.js";
import { encodeHeaderBlock } from "../src/client/transport/h2-net/hpack/encoder.js";
import { concat, rawString } from "../test/support/hpack-blocks.js";

const ITERATIONS = Number(process.env.BENCH_HPACK_ITERATIONS ?? 500_000);

/** µs per call of `f`, after a warm-up of a fifth of the iterations. */
function time(f: () => unknown): number {
  for (let i = 0; i < ITERATIONS / 5; i++) f();
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < ITERATIONS; i++) f();
  return Number(process.hrtime.bigint() - t0) / ITERATIONS / 1000;
}

function report(name: string, micros: number, bytes?: number): void {
  const size = bytes === undefined ? "" : `${bytes} B`.padStart(8);
  console.log(`${name.padEnd(58)}${micros.toFixed(3).padStart(9)}${size}`);
}

const literalWithIndexing = (name: string, value: string) =>
  concat(Uint8Array.of(0x40), rawString(name), rawString(value));

// A method's fixed request headers (encoded once per method) and what varies per call.
const methodHeaders: [string, string][] = [
  [":method", "POST"],
  [":scheme", "http"],
  [":path", "/etcdserverpb.KV/Range"],
  [":authority", "127.0.0.1:2379"],
  ["content-type", "application/grpc"],
  ["te", "trailers"],
  ["user-agent", "etcd-ts/0.1.0"],
];
const callHeaders: [string, string][] = [["grpc-timeout", "4999m"]];

console.log(`${"µs per operation".padEnd(58)}${"µs".padStart(9)}${"block".padStart(8)}`);
report(
  "encode a method's request headers (once per method)",
  time(() => encodeHeaderBlock(methodHeaders)),
  encodeHeaderBlock(methodHeaders).length,
);
report(
  "encode a call's grpc-timeout (per call)",
  time(() => encodeHeaderBlock(callHeaders)),
  encodeHeaderBlock(callHeaders).length,
);
const token: [string, string][] = [...callHeaders, ["token", "hLcPKyDyTPeDtLhq.4211"]];
report(
  "encode a call's grpc-timeout and auth token",
  time(() => encodeHeaderBlock(token)),
  encodeHeaderBlock(token).length,
);

// A gRPC server's responses as an indexing encoder sends them: the first response's headers and
// trailers as literals with indexing, every later one as references to those entries.
const firstHeaders = concat(Uint8Array.of(0x88), literalWithIndexing("content-type", "application/grpc"));
const firstTrailers = concat(
  literalWithIndexing("grpc-status", "0"),
  literalWithIndexing("grpc-message", ""),
);
const laterHeaders = Uint8Array.of(0x88, 0xc0); // :status 200, content-type (third newest)
const laterTrailers = Uint8Array.of(0xbf, 0xbe); // grpc-status, grpc-message
const steady = new HpackDecoder();
steady.decode(firstHeaders);
steady.decode(firstTrailers);
report(
  "decode a later response's headers (indexed)",
  time(() => steady.decode(laterHeaders)),
  laterHeaders.length,
);
report(
  "decode a later response's trailers (indexed)",
  time(() => steady.decode(laterTrailers)),
  laterTrailers.length,
);
report(
  "decode a first response's headers (literal, fresh decoder)",
  time(() => new HpackDecoder().decode(firstHeaders)),
  firstHeaders.length,
);

// A Huffman-coded block: our own encoder's (static names, Huffman values).
const huffmanBlock = encodeHeaderBlock([
  [":status", "200"],
  ["content-type", "application/grpc"],
  ["grpc-status", "5"],
  ["grpc-message", "etcdserver: requested lease not found"],
]);
const plain = new HpackDecoder();
report(
  "decode an error response (literals, Huffman)",
  time(() => plain.decode(huffmanBlock)),
  huffmanBlock.length,
);
