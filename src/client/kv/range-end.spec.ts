import { describe, expect, it } from "vitest";
import { FROM_KEY_END, prefixRangeEnd } from "./range-end.js";

const b = (...bytes: number[]) => Uint8Array.from(bytes);

describe("prefixRangeEnd", () => {
  it("increments the last byte", () => {
    expect(prefixRangeEnd(new TextEncoder().encode("a/"))).toEqual(new TextEncoder().encode("a0"));
  });
  it("drops trailing 0xff bytes and increments the one before", () => {
    expect(prefixRangeEnd(b(0x61, 0xff))).toEqual(b(0x62));
    expect(prefixRangeEnd(b(0x01, 0xfe, 0xff, 0xff))).toEqual(b(0x01, 0xff));
  });
  it("means 'to the end of the keyspace' for all-0xff and empty prefixes", () => {
    expect(prefixRangeEnd(b(0xff, 0xff))).toEqual(FROM_KEY_END);
    expect(prefixRangeEnd(b())).toEqual(b(0));
  });
  it("does not modify its input", () => {
    const prefix = b(0x61, 0x62);
    prefixRangeEnd(prefix);
    expect(prefix).toEqual(b(0x61, 0x62));
  });
});
