const encoder = new TextEncoder();

/**
 * Writes protobuf wire format into one growing byte array, with room kept in front for the gRPC
 * message prefix, so a request is encoded and framed without intermediate chunks or copies.
 */
export class WireWriter {
  buf: Uint8Array;
  pos: number;

  constructor(reserve: number, sizeHint = 256) {
    this.buf = new Uint8Array(Math.max(sizeHint, reserve + 16));
    this.pos = reserve;
  }

  /** The bytes written, including the reserved prefix. */
  finish(): Uint8Array {
    return this.buf.subarray(0, this.pos);
  }

  /** Makes room for `n` more bytes. */
  ensure(n: number): void {
    const need = this.pos + n;
    if (need <= this.buf.length) return;
    const next = new Uint8Array(Math.max(need, this.buf.length * 2));
    next.set(this.buf.subarray(0, this.pos));
    this.buf = next;
  }

  /** An unsigned 32-bit varint (`v` in [0, 2^32)). */
  uint32(v: number): void {
    this.ensure(5);
    const buf = this.buf;
    let pos = this.pos;
    while (v > 0x7f) {
      buf[pos++] = (v & 0x7f) | 0x80;
      v >>>= 7;
    }
    buf[pos++] = v;
    this.pos = pos;
  }

  /** A signed 32-bit varint: negative values take ten bytes, as in every protobuf implementation. */
  int32(v: number): void {
    if (v >= 0) this.uint32(v);
    else this.varint64(v, -1);
  }

  /** A 64-bit varint from its low and high 32 bits (two's complement). */
  varint64(lo: number, hi: number): void {
    this.ensure(10);
    const buf = this.buf;
    let pos = this.pos;
    lo >>>= 0;
    hi >>>= 0;
    while (hi > 0 || lo > 0x7f) {
      buf[pos++] = (lo & 0x7f) | 0x80;
      lo = ((lo >>> 7) | (hi << 25)) >>> 0;
      hi >>>= 7;
    }
    buf[pos++] = lo;
    this.pos = pos;
  }

  /** A 64-bit varint of a bigint already reduced to [0, 2^64). */
  uint64(v: bigint): void {
    if (v < 0x80000000n) this.uint32(Number(v));
    else this.varint64(Number(v & 0xffffffffn), Number(v >> 32n));
  }

  /** Raw bytes with their length in front. */
  bytes(v: Uint8Array): void {
    this.uint32(v.length);
    this.ensure(v.length);
    this.buf.set(v, this.pos);
    this.pos += v.length;
  }

  /** A string as UTF-8 with its length in front. */
  string(v: string): void {
    // At most three bytes per UTF-16 unit; the length prefix is fixed up after encoding.
    const max = v.length * 3;
    const prefix = varintSize(max);
    this.ensure(prefix + max);
    const start = this.pos + prefix;
    const { written } = encoder.encodeInto(v, this.buf.subarray(start, start + max));
    this.#closeLength(start, prefix, written);
  }

  /** Starts a length-delimited field whose length is written by {@link endLength}. */
  beginLength(): number {
    this.ensure(1);
    this.pos += 1;
    return this.pos;
  }

  /** Writes the length of what was written since `start` (from {@link beginLength}) in front of it. */
  endLength(start: number): void {
    this.#closeLength(start, 1, this.pos - start);
  }

  /** Puts `length` as a varint in the `reserved` bytes before `start`, moving the content when needed. */
  #closeLength(start: number, reserved: number, length: number): void {
    const size = varintSize(length);
    let at = start - reserved;
    if (size !== reserved) {
      this.ensure(size - reserved);
      this.buf.copyWithin(at + size, start, start + length);
    }
    const buf = this.buf;
    let v = length;
    while (v > 0x7f) {
      buf[at++] = (v & 0x7f) | 0x80;
      v >>>= 7;
    }
    buf[at++] = v;
    this.pos = at + length;
  }
}

/** Bytes of the varint of `v` (an unsigned 32-bit value). */
export function varintSize(v: number): number {
  if (v < 0x80) return 1;
  if (v < 0x4000) return 2;
  if (v < 0x200000) return 3;
  if (v < 0x10000000) return 4;
  return 5;
}
