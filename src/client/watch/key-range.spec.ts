import { describe, expect, it } from "vitest";
import { InvalidArgumentError } from "../core/errors.js";
import { ownRange as pack, packedKey, packedRangeEnd } from "./key-range.js";

/** Packs as the hub does, then reads back as a watcher does. */
function ownRange(range: Parameters<typeof pack>[0]) {
  const { bytes, split } = pack(range);
  return { key: packedKey(bytes, split), rangeEnd: packedRangeEnd(bytes, split), bytes };
}

const enc = new TextEncoder();

describe("ownRange", () => {
  it("single key: the key's bytes and an empty range end", () => {
    const r = ownRange(enc.encode("a/b"));
    expect(r.key).toEqual(enc.encode("a/b"));
    expect(r.rangeEnd).toHaveLength(0);
  });

  it("prefix and explicit range ends", () => {
    expect(ownRange({ prefix: enc.encode("a/") }).rangeEnd).toEqual(enc.encode("a0"));
    expect(ownRange({ key: enc.encode("a"), end: "c" }).rangeEnd).toEqual(enc.encode("c"));
    expect(ownRange({ key: enc.encode("a"), end: new Uint8Array([0]) }).rangeEnd).toEqual(
      new Uint8Array([0]),
    );
    expect(ownRange({ prefix: new Uint8Array([0x61, 0xff]) }).rangeEnd).toEqual(new Uint8Array([0x62]));
  });

  it("spells keys as reads do: the empty key is refused, the empty prefix is every key", () => {
    expect(() => ownRange("")).toThrow(InvalidArgumentError);
    expect(ownRange({ prefix: "" })).toMatchObject({ key: Uint8Array.of(0), rangeEnd: Uint8Array.of(0) });
    expect(() => ownRange(42 as unknown as string)).toThrow(
      /key: must be a string, a Uint8Array or a range .*got number/,
    );
  });

  it("copies: a key that is a view into a big buffer does not keep that buffer", () => {
    const frame = new Uint8Array(1 << 20);
    frame.set(enc.encode("k1"), 1000);
    const view = frame.subarray(1000, 1002);
    const r = ownRange({ prefix: view });
    expect(r.key).toEqual(enc.encode("k1"));
    expect(r.rangeEnd).toEqual(enc.encode("k2"));
    expect(r.bytes.buffer).not.toBe(frame.buffer);
    expect(r.bytes.buffer.byteLength).toBe(4);
    frame[1000] = 0;
    expect(r.bytes[0]).toBe(0x6b);
  });
});
