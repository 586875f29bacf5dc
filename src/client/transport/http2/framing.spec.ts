import { create, toBinary } from "@bufbuild/protobuf";
import { Code, ConnectError } from "@connectrpc/connect";
import { describe, expect, it } from "vitest";
import { PutRequestSchema } from "../../../gen/etcdserverpb/rpc_pb.js";
import { encodeFrame, MessageDecoder, plainBytes, unaryMessageFromBody } from "./framing.js";

function decodeAll(decoder: MessageDecoder, chunks: Uint8Array[]): number[][] {
  const out: number[][] = [];
  for (const chunk of chunks) decoder.push(chunk, (m) => out.push([...m]));
  return out;
}

function bytes(...values: number[]): Uint8Array {
  return new Uint8Array(values);
}

describe("encodeFrame", () => {
  const key = bytes(1, 2, 3);
  const payload = toBinary(PutRequestSchema, create(PutRequestSchema, { key }));

  it("prefixes the encoded message with flag 0 and a big-endian length in one buffer", () => {
    const framed = encodeFrame(PutRequestSchema, { key }, 100);
    expect([...framed]).toEqual([0, 0, 0, 0, payload.length, ...payload]);
  });

  it("frames an empty message as a bare prefix", () => {
    expect([...encodeFrame(PutRequestSchema, {}, 0)]).toEqual([0, 0, 0, 0, 0]);
  });

  it("writes lengths above 255 across the prefix bytes", () => {
    const framed = encodeFrame(PutRequestSchema, { key, value: new Uint8Array(70_000) }, 100_000);
    const length = framed.length - 5;
    expect([...framed.subarray(0, 5)]).toEqual([
      0,
      length >>> 24,
      (length >>> 16) & 255,
      (length >>> 8) & 255,
      length & 255,
    ]);
  });

  it("rejects a message above the send limit with ResourceExhausted", () => {
    const error = catchError(() => encodeFrame(PutRequestSchema, { key: new Uint8Array(11) }, 10));
    expect(error.code).toBe(Code.ResourceExhausted);
    expect(error.rawMessage).toContain("13 bytes");
  });
});

/** A gRPC frame of `payload`, built by hand (flag 0, big-endian length). */
function frame(payload: Uint8Array): Buffer {
  const out = Buffer.alloc(5 + payload.length);
  out.writeUInt32BE(payload.length, 1);
  out.set(payload, 5);
  return out;
}

describe("MessageDecoder", () => {
  const two = Buffer.concat([frame(bytes(7, 8, 9)), frame(bytes(5))]);

  it("decodes several messages coalesced in one chunk", () => {
    expect(decodeAll(new MessageDecoder(100), [two])).toEqual([[7, 8, 9], [5]]);
  });

  it("decodes messages split at every possible byte boundary", () => {
    for (let cut = 1; cut < two.length; cut++) {
      const decoder = new MessageDecoder(100);
      expect(decodeAll(decoder, [two.subarray(0, cut), two.subarray(cut)])).toEqual([[7, 8, 9], [5]]);
      expect(decoder.idle).toBe(true);
    }
  });

  it("decodes a stream fed one byte at a time, including empty messages", () => {
    const stream = Buffer.concat([frame(bytes()), frame(bytes(1, 2)), frame(bytes())]);
    const decoder = new MessageDecoder(10);
    const chunks = [...stream].map((b) => bytes(b));
    expect(decodeAll(decoder, chunks)).toEqual([[], [1, 2], []]);
  });

  it("decodes a large message spread over many chunks", () => {
    const payload = new Uint8Array(100_000).map((_, i) => i % 251);
    const framed = frame(payload);
    const chunks: Uint8Array[] = [];
    for (let i = 0; i < framed.length; i += 16_384) chunks.push(framed.subarray(i, i + 16_384));
    const out: Uint8Array[] = [];
    const decoder = new MessageDecoder(200_000);
    for (const c of chunks) decoder.push(c, (m) => out.push(m));
    expect(out).toHaveLength(1);
    expect(Buffer.compare(Buffer.from(out[0]!), Buffer.from(payload))).toBe(0);
  });

  it("reports a partial message as not idle", () => {
    const decoder = new MessageDecoder(100);
    decodeAll(decoder, [two.subarray(0, 6)]);
    expect(decoder.idle).toBe(false);
  });

  it("rejects a message above the receive limit before buffering it", () => {
    const decoder = new MessageDecoder(4);
    const error = catchError(() => decoder.push(bytes(0, 0, 0, 0, 5), () => {}));
    expect(error.code).toBe(Code.ResourceExhausted);
  });

  it("rejects a length of 2^32-1 as oversize (unsigned length)", () => {
    const decoder = new MessageDecoder(64 * 1024 * 1024);
    const error = catchError(() => decoder.push(bytes(0, 0xff, 0xff, 0xff, 0xff), () => {}));
    expect(error.code).toBe(Code.ResourceExhausted);
  });

  it("rejects compressed messages, which we never negotiate", () => {
    const decoder = new MessageDecoder(100);
    const error = catchError(() => decoder.push(bytes(1, 0, 0, 0, 1, 9), () => {}));
    expect(error.code).toBe(Code.Internal);
  });
});

describe("unaryMessageFromBody", () => {
  it("accepts one message in one or several chunks", () => {
    const framed = frame(bytes(4, 5, 6));
    expect([...unaryMessageFromBody(framed, 10)]).toEqual([4, 5, 6]);
    expect([...unaryMessageFromBody([framed.subarray(0, 2), framed.subarray(2)], 10)]).toEqual([4, 5, 6]);
  });

  it("rejects a missing message, extra messages, truncation and oversize", () => {
    expect(catchError(() => unaryMessageFromBody(undefined, 10)).code).toBe(Code.Unimplemented);
    const extra = Buffer.concat([frame(bytes(1)), frame(bytes(2))]);
    expect(catchError(() => unaryMessageFromBody(extra, 10)).code).toBe(Code.Unimplemented);
    expect(catchError(() => unaryMessageFromBody(Buffer.from([0, 0, 0, 0, 3, 1]), 10)).code).toBe(
      Code.Internal,
    );
    expect(catchError(() => unaryMessageFromBody(frame(bytes(1, 2, 3)), 2)).code).toBe(
      Code.ResourceExhausted,
    );
  });
});

function catchError(fn: () => unknown): ConnectError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(ConnectError);
    return err as ConnectError;
  }
  throw new Error("expected an error");
}

describe("plainBytes", () => {
  it("views a Buffer as a plain Uint8Array over the same memory", () => {
    const buf = Buffer.from([1, 2, 3, 4]).subarray(1, 3);
    const plain = plainBytes(buf);
    expect(Buffer.isBuffer(plain)).toBe(false);
    expect(plain).toEqual(new Uint8Array([2, 3]));
    buf[0] = 9;
    expect(plain[0]).toBe(9);
  });
});
