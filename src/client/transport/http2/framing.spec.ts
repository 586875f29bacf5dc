import { Code, ConnectError } from "@connectrpc/connect";
import { describe, expect, it } from "vitest";
import { frameMessage, MessageDecoder, plainBytes, unaryMessageFromBody } from "./framing.js";

function decodeAll(decoder: MessageDecoder, chunks: Uint8Array[]): number[][] {
  const out: number[][] = [];
  for (const chunk of chunks) decoder.push(chunk, (m) => out.push([...m]));
  return out;
}

function bytes(...values: number[]): Uint8Array {
  return new Uint8Array(values);
}

describe("frameMessage", () => {
  it("prefixes the payload with flag 0 and a big-endian length in one buffer", () => {
    const frame = frameMessage(bytes(1, 2, 3), 100);
    expect([...frame]).toEqual([0, 0, 0, 0, 3, 1, 2, 3]);
  });

  it("frames an empty message as a bare prefix", () => {
    expect([...frameMessage(bytes(), 0)]).toEqual([0, 0, 0, 0, 0]);
  });

  it("rejects a payload above the send limit with ResourceExhausted", () => {
    const error = catchError(() => frameMessage(new Uint8Array(11), 10));
    expect(error.code).toBe(Code.ResourceExhausted);
    expect(error.rawMessage).toContain("11 bytes");
  });
});

describe("MessageDecoder", () => {
  const two = Buffer.concat([frameMessage(bytes(7, 8, 9), 100), frameMessage(bytes(5), 100)]);

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
    const stream = Buffer.concat([
      frameMessage(bytes(), 10),
      frameMessage(bytes(1, 2), 10),
      frameMessage(bytes(), 10),
    ]);
    const decoder = new MessageDecoder(10);
    const chunks = [...stream].map((b) => bytes(b));
    expect(decodeAll(decoder, chunks)).toEqual([[], [1, 2], []]);
  });

  it("decodes a large message spread over many chunks", () => {
    const payload = new Uint8Array(100_000).map((_, i) => i % 251);
    const frame = frameMessage(payload, 200_000);
    const chunks: Uint8Array[] = [];
    for (let i = 0; i < frame.length; i += 16_384) chunks.push(frame.subarray(i, i + 16_384));
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
    const frame = frameMessage(bytes(4, 5, 6), 10);
    expect([...unaryMessageFromBody(frame, 10)]).toEqual([4, 5, 6]);
    expect([...unaryMessageFromBody([frame.subarray(0, 2), frame.subarray(2)], 10)]).toEqual([4, 5, 6]);
  });

  it("rejects a missing message, extra messages, truncation and oversize", () => {
    expect(catchError(() => unaryMessageFromBody(undefined, 10)).code).toBe(Code.Unimplemented);
    const extra = Buffer.concat([frameMessage(bytes(1), 10), frameMessage(bytes(2), 10)]);
    expect(catchError(() => unaryMessageFromBody(extra, 10)).code).toBe(Code.Unimplemented);
    expect(catchError(() => unaryMessageFromBody(Buffer.from([0, 0, 0, 0, 3, 1]), 10)).code).toBe(
      Code.Internal,
    );
    expect(catchError(() => unaryMessageFromBody(frameMessage(bytes(1, 2, 3), 10), 2)).code).toBe(
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
