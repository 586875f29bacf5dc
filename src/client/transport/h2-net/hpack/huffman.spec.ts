import { readdirSync, readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { huffmanDecode, huffmanEncode, huffmanEncodedLength, maxHuffmanDecodedLength } from "./huffman.js";
import { HUFFMAN_CODE_LENGTHS, HUFFMAN_CODES } from "./huffman-table.js";

function encode(text: string): Uint8Array {
  const out = new Uint8Array(huffmanEncodedLength(text));
  expect(huffmanEncode(text, out, 0)).toBe(out.length);
  return out;
}

function decode(code: Uint8Array, limit = 1 << 20): string | -1 {
  const out = new Uint8Array(Math.min(maxHuffmanDecodedLength(code.length), limit));
  const length = huffmanDecode(code, 0, code.length, out, limit);
  return length < 0 ? -1 : String.fromCharCode(...out.subarray(0, length));
}

describe("the Huffman table", () => {
  it("is a prefix code of 256 symbols, 5 to 30 bits, that with EOS (thirty 1 bits) fills the code space", () => {
    expect(HUFFMAN_CODES).toHaveLength(256);
    expect(HUFFMAN_CODE_LENGTHS).toHaveLength(256);
    // Kraft sum: the symbols plus EOS use every code exactly once.
    let kraft = 2 ** -30;
    for (let s = 0; s < 256; s++) {
      const len = HUFFMAN_CODE_LENGTHS[s]!;
      expect(len).toBeGreaterThanOrEqual(5);
      expect(len).toBeLessThanOrEqual(30);
      expect(HUFFMAN_CODES[s]!).toBeLessThan(2 ** len);
      kraft += 2 ** -len;
    }
    expect(kraft).toBe(1);
    // No code is EOS or a prefix of another.
    const codes = HUFFMAN_CODES.map((code, s) => code.toString(2).padStart(HUFFMAN_CODE_LENGTHS[s]!, "0"));
    codes.push("1".repeat(30));
    const sorted = [...codes].sort();
    for (let i = 1; i < sorted.length; i++) expect(sorted[i]!.startsWith(sorted[i - 1]!)).toBe(false);
  });
});

describe("huffmanEncode and huffmanDecode", () => {
  it("round-trip each byte value alone, and each after every code length's worth of bits", () => {
    for (let s = 0; s < 256; s++) {
      const one = String.fromCharCode(s);
      expect(decode(encode(one))).toBe(one);
      // After "a" (5 bits) and "\0" (13 bits), symbols start at other bit offsets.
      expect(decode(encode(`a${one}\0${one}`))).toBe(`a${one}\0${one}`);
    }
  });

  it("round-trip every byte value in one string, and long strings", () => {
    const all = String.fromCharCode(...Array.from({ length: 256 }, (_, i) => i));
    expect(decode(encode(all))).toBe(all);
    const long = all.repeat(40);
    expect(decode(encode(long))).toBe(long);
  });

  it("encode the empty string to nothing, which decodes to the empty string", () => {
    expect(encode("")).toEqual(new Uint8Array(0));
    expect(decode(new Uint8Array(0))).toBe("");
  });

  it("write at an offset and return the offset after the code", () => {
    const out = new Uint8Array(10).fill(0xaa);
    expect(huffmanEncode("gzip", out, 2)).toBe(5);
    expect([...out]).toEqual([0xaa, 0xaa, 0x9b, 0xd9, 0xab, 0xaa, 0xaa, 0xaa, 0xaa, 0xaa]);
  });

  it("decode stops with -1 as soon as the output would pass the limit", () => {
    const code = encode("0123456789");
    expect(decode(code, 10)).toBe("0123456789");
    expect(decode(code, 9)).toBe(-1);
    expect(decode(code, 0)).toBe(-1);
  });

  it("bound the decoded length: 5-bit codes give the most symbols per byte", () => {
    const zeros = "0".repeat(64); // '0' is 00000
    expect(encode(zeros)).toHaveLength(40);
    expect(maxHuffmanDecodedLength(40)).toBe(64);
  });
});

describe("the HPACK module", () => {
  it("imports nothing from node: (it runs unchanged on Bun, Deno and in browsers)", () => {
    const folder = new URL(".", import.meta.url);
    const sources = readdirSync(folder).filter((f) => f.endsWith(".ts") && !f.endsWith(".spec.ts"));
    expect(sources).toContain("decoder.ts");
    for (const file of sources) {
      const text = readFileSync(new URL(file, folder), "utf8");
      expect(text, file).not.toMatch(/from\s+["']node:|require\(|\bBuffer\b|\bprocess\./);
    }
  });
});
