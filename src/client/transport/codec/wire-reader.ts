/**
 * Thrown by the fast codec when input is anything but plain, well-formed and known: the caller then
 * hands the whole message to protobuf-es, which gives the exact result or error it always gives.
 */
export const FALL_BACK = Symbol("etcd-ts.codec.fallBack");

const utf8 = new TextDecoder("utf-8", { fatal: true });

/** Reads protobuf wire format; any irregularity throws {@link FALL_BACK}. */
export class WireReader {
  readonly buf: Uint8Array;
  pos: number;
  /** High 32 bits of the last {@link varint64}; its low bits are the return value. */
  hi = 0;

  constructor(buf: Uint8Array) {
    this.buf = buf;
    this.pos = 0;
  }

  /** An unsigned varint that must fit in 32 bits. */
  uint32(): number {
    const buf = this.buf;
    let pos = this.pos;
    let b = buf[pos++]!;
    let v = b & 0x7f;
    if (b >= 0x80) {
      b = buf[pos++]!;
      v |= (b & 0x7f) << 7;
      if (b >= 0x80) {
        b = buf[pos++]!;
        v |= (b & 0x7f) << 14;
        if (b >= 0x80) {
          b = buf[pos++]!;
          v |= (b & 0x7f) << 21;
          if (b >= 0x80) {
            b = buf[pos++]!;
            if (b > 0x0f) throw FALL_BACK;
            v += b * 0x10000000;
          }
        }
      }
    }
    // Reading past the end yields undefined, which the comparisons above treat as a small byte.
    if (pos > buf.length) throw FALL_BACK;
    this.pos = pos;
    return v >>> 0;
  }

  /** A varint of up to 64 bits: returns the low 32 bits (unsigned), leaves the high ones in `hi`. */
  varint64(): number {
    const buf = this.buf;
    let pos = this.pos;
    let lo = 0;
    let hi = 0;
    let shift = 0;
    let b: number;
    for (;;) {
      if (pos >= buf.length) throw FALL_BACK;
      b = buf[pos++]!;
      if (shift < 28) lo |= (b & 0x7f) << shift;
      else if (shift === 28) {
        lo |= (b & 0x0f) << 28;
        hi = (b & 0x7f) >>> 4;
      } else if (shift < 64) hi |= (b & 0x7f) << (shift - 32);
      else throw FALL_BACK;
      if (b < 0x80) break;
      shift += 7;
    }
    this.pos = pos;
    this.hi = hi >>> 0;
    return lo >>> 0;
  }

  /** The length of a length-delimited field; its end must be inside the buffer. */
  length(): number {
    const len = this.uint32();
    if (this.pos + len > this.buf.length) throw FALL_BACK;
    return len;
  }

  /** Bytes of a length-delimited field, as a view of the input (as protobuf-es gives them). */
  bytes(): Uint8Array {
    const len = this.length();
    const start = this.pos;
    this.pos += len;
    return this.buf.subarray(start, start + len);
  }

  /** A UTF-8 string; invalid UTF-8 falls back (protobuf-es rejects it for proto3 strings). */
  string(): string {
    const view = this.bytes();
    try {
      return utf8.decode(view);
    } catch {
      throw FALL_BACK;
    }
  }
}

/** Scratch space to turn two 32-bit halves into one bigint with a single allocation; holds nothing between calls. */
const halves = new DataView(new ArrayBuffer(8));

/** A uint64 from its two halves. */
export function toUint64(lo: number, hi: number): bigint {
  if (hi === 0) return BigInt(lo);
  halves.setUint32(0, lo, true);
  halves.setUint32(4, hi, true);
  return halves.getBigUint64(0, true);
}

/** An int64 (two's complement) from its two halves. */
export function toInt64(lo: number, hi: number): bigint {
  if (hi === 0) return BigInt(lo);
  halves.setUint32(0, lo, true);
  halves.setUint32(4, hi, true);
  return halves.getBigInt64(0, true);
}
