import { describe, expect, it } from "vitest";
import { toBytes } from "./bytes.js";

describe("toBytes", () => {
  const encoder = new TextEncoder();

  it("encodes strings exactly as TextEncoder does, ASCII or not, short or long", () => {
    const samples = [
      "",
      "a",
      "bench/range",
      "x".repeat(64),
      "y".repeat(65),
      "ключ",
      "k/ä",
      "😀/key",
      "\x7f\x00",
      "a\ud800b",
    ];
    for (const s of samples) expect(toBytes(s), JSON.stringify(s)).toEqual(encoder.encode(s));
  });

  it("passes bytes through without copying", () => {
    const bytes = new Uint8Array([1, 2, 3]);
    expect(toBytes(bytes)).toBe(bytes);
  });
});
