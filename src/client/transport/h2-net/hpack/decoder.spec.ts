import { describe, expect, it } from "vitest";
import { concat, hex, integer, rawString } from "../../../../../test/support/hpack-blocks.js";
import { InvalidArgumentError } from "../../../core/errors.js";
import { HpackDecoder } from "./decoder.js";
import { HpackError, type HpackErrorCode, type HpackErrorReason } from "./errors.js";

/** Decoding `block` with a fresh decoder (or `decoder`) throws an HpackError with this code and reason. */
function expectRefused(
  block: Uint8Array,
  code: HpackErrorCode,
  reason: HpackErrorReason,
  decoder = new HpackDecoder(),
): HpackError {
  let thrown: unknown;
  try {
    decoder.decode(block);
  } catch (error) {
    thrown = error;
  }
  expect(thrown).toBeInstanceOf(HpackError);
  expect(thrown).toMatchObject({ name: "HpackError", code, reason });
  return thrown as HpackError;
}

/** A literal without indexing, :path (static name 4) with a Huffman-coded value of these bytes. */
function pathWithHuffman(code: Uint8Array): Uint8Array {
  return concat(Uint8Array.of(0x04), integer(code.length, 7, 0x80), code);
}

describe("HpackDecoder: well-formed blocks", () => {
  it("decodes an empty block to no fields", () => {
    expect(new HpackDecoder().decode(new Uint8Array(0))).toEqual([]);
  });

  it("keeps every byte value of a name and value as one character (0x00 to 0xff)", () => {
    const all = String.fromCharCode(...Array.from({ length: 256 }, (_, i) => i));
    const block = concat(Uint8Array.of(0x00), rawString("x-bytes"), rawString(all));
    expect(new HpackDecoder().decode(block)).toEqual([["x-bytes", all]]);
  });

  it("decodes a never-indexed literal with a literal name", () => {
    const block = concat(Uint8Array.of(0x10), rawString("token"), rawString("s3cret"));
    const decoder = new HpackDecoder();
    expect(decoder.decode(block)).toEqual([["token", "s3cret"]]);
    expect(decoder.tableEntries()).toEqual([]);
  });

  it("names a literal by a dynamic table entry", () => {
    const decoder = new HpackDecoder();
    decoder.decode(concat(Uint8Array.of(0x40), rawString("x-a"), rawString("1")));
    // 0x0f 0x2f: literal without indexing, name index 15 + 47 = 62 (the newest dynamic entry).
    expect(decoder.decode(concat(hex("0f 2f"), rawString("2")))).toEqual([["x-a", "2"]]);
  });

  it("accepts two size updates at the start of a block, and a field after them", () => {
    const decoder = new HpackDecoder();
    decoder.decode(concat(Uint8Array.of(0x40), rawString("x-a"), rawString("1")));
    // To 0 (evicts everything), then back to 4096, then an indexed field.
    expect(decoder.decode(concat(hex("20"), integer(4096, 5, 0x20), hex("82")))).toEqual([
      [":method", "GET"],
    ]);
    expect(decoder.tableEntries()).toEqual([]);
    expect(decoder.tableSize).toBe(0);
  });

  it("shrinks the table with a size update, evicting the oldest entries", () => {
    const decoder = new HpackDecoder();
    decoder.decode(
      concat(hex("40"), rawString("x-a"), rawString("1"), hex("40"), rawString("x-b"), rawString("2")),
    );
    expect(decoder.tableSize).toBe(72);
    decoder.decode(integer(36, 5, 0x20));
    expect(decoder.tableEntries()).toEqual([["x-b", "2"]]);
    expect(decoder.tableSize).toBe(36);
  });

  it("empties the table for an entry larger than the table, and does not add it", () => {
    const decoder = new HpackDecoder({ maxTableSize: 64 });
    decoder.decode(concat(hex("40"), rawString("x-a"), rawString("1")));
    const big = "v".repeat(40);
    expect(decoder.decode(concat(hex("40"), rawString("x-b"), rawString(big)))).toEqual([["x-b", big]]);
    expect(decoder.tableEntries()).toEqual([]);
    expect(decoder.tableSize).toBe(0);
  });

  it("keeps the table right across many insertions and evictions (the ring grows and wraps)", () => {
    const decoder = new HpackDecoder({ maxTableSize: 34 * 20 });
    // Entries of 34 bytes (1-byte name and value): 20 fit. Insert 100, check the newest 20 in order.
    for (let i = 0; i < 100; i++) {
      const name = String.fromCharCode(97 + (i % 26));
      const value = String.fromCharCode(48 + (i % 10));
      decoder.decode(concat(hex("40"), rawString(name), rawString(value)));
    }
    const entries = decoder.tableEntries();
    expect(entries).toHaveLength(20);
    expect(decoder.tableSize).toBe(680);
    entries.forEach(([name, value], k) => {
      const i = 99 - k;
      expect([name, value]).toEqual([String.fromCharCode(97 + (i % 26)), String.fromCharCode(48 + (i % 10))]);
    });
    // The oldest entry is index 61 + 20 = 81; 82 is out of range.
    expect(decoder.decode(integer(81, 7, 0x80))).toEqual([entries[19]]);
  });

  it("accepts an integer of exactly 2^31 - 1 (a size update to a table of that limit)", () => {
    const decoder = new HpackDecoder({ maxTableSize: 2 ** 31 - 1 });
    expect(decoder.decode(integer(2 ** 31 - 1, 5, 0x20))).toEqual([]);
  });
});

describe("HpackDecoder: malformed blocks are COMPRESSION_ERROR", () => {
  it("TRUNCATED: an integer that ends with the block", () => {
    expectRefused(hex("ff"), "COMPRESSION_ERROR", "TRUNCATED");
    expectRefused(hex("ff 80"), "COMPRESSION_ERROR", "TRUNCATED");
  });

  it("TRUNCATED: a string longer than what is left of the block", () => {
    expectRefused(hex("40 0a 63 75"), "COMPRESSION_ERROR", "TRUNCATED");
    expectRefused(
      concat(hex("04"), integer(1000, 7, 0x00), new Uint8Array(999)),
      "COMPRESSION_ERROR",
      "TRUNCATED",
    );
  });

  it("TRUNCATED: a literal whose value is missing", () => {
    expectRefused(hex("44"), "COMPRESSION_ERROR", "TRUNCATED");
    expectRefused(concat(hex("00"), rawString("x")), "COMPRESSION_ERROR", "TRUNCATED");
  });

  it("INTEGER_OVERFLOW: an integer above 2^31 - 1", () => {
    expectRefused(integer(2 ** 31, 7, 0x80), "COMPRESSION_ERROR", "INTEGER_OVERFLOW");
    expectRefused(hex("ff ff ff ff ff 0f"), "COMPRESSION_ERROR", "INTEGER_OVERFLOW");
  });

  it("INTEGER_OVERFLOW: more continuation bytes than 31 bits need, even of zeros", () => {
    expectRefused(hex("ff 80 80 80 80 80 00"), "COMPRESSION_ERROR", "INTEGER_OVERFLOW");
    // Five continuation bytes are allowed: 127 + 0 = index 127, out of range rather than overflowing.
    expectRefused(hex("ff 80 80 80 80 00"), "COMPRESSION_ERROR", "INDEX_OUT_OF_RANGE");
  });

  it("INTEGER_OVERFLOW: a string length above 2^31 - 1", () => {
    expectRefused(concat(hex("04"), integer(2 ** 31, 7, 0x00)), "COMPRESSION_ERROR", "INTEGER_OVERFLOW");
  });

  it("HUFFMAN_EOS: a Huffman string holding the EOS symbol", () => {
    // Thirty 1 bits are EOS; two more ones would be valid padding after a symbol, but EOS is none.
    expectRefused(pathWithHuffman(hex("ff ff ff ff")), "COMPRESSION_ERROR", "HUFFMAN_EOS");
    // 'a' (00011), then EOS.
    expectRefused(pathWithHuffman(hex("1f ff ff ff ff")), "COMPRESSION_ERROR", "HUFFMAN_EOS");
  });

  it("HUFFMAN_PADDING: more than 7 bits of padding", () => {
    expectRefused(pathWithHuffman(hex("ff")), "COMPRESSION_ERROR", "HUFFMAN_PADDING");
    // 'a' then 11 one bits: a whole byte of padding too many.
    expectRefused(pathWithHuffman(hex("1f ff")), "COMPRESSION_ERROR", "HUFFMAN_PADDING");
  });

  it("HUFFMAN_PADDING: padding that is not all ones", () => {
    // 'a' is 00011: 0x1f pads with 111, 0x18 with 000, 0x1e with 110.
    expect(new HpackDecoder().decode(pathWithHuffman(hex("1f")))).toEqual([[":path", "a"]]);
    expectRefused(pathWithHuffman(hex("18")), "COMPRESSION_ERROR", "HUFFMAN_PADDING");
    expectRefused(pathWithHuffman(hex("1e")), "COMPRESSION_ERROR", "HUFFMAN_PADDING");
  });

  it("INDEX_ZERO: an indexed field with index 0", () => {
    expectRefused(hex("80"), "COMPRESSION_ERROR", "INDEX_ZERO");
  });

  it("INDEX_OUT_OF_RANGE: an index beyond the static table and an empty dynamic table", () => {
    expectRefused(hex("be"), "COMPRESSION_ERROR", "INDEX_OUT_OF_RANGE");
    expectRefused(integer(2 ** 31 - 1, 7, 0x80), "COMPRESSION_ERROR", "INDEX_OUT_OF_RANGE");
  });

  it("INDEX_OUT_OF_RANGE: a literal's name index beyond the tables", () => {
    expectRefused(concat(integer(62, 6, 0x40), rawString("v")), "COMPRESSION_ERROR", "INDEX_OUT_OF_RANGE");
    expectRefused(concat(integer(62, 4, 0x00), rawString("v")), "COMPRESSION_ERROR", "INDEX_OUT_OF_RANGE");
    expectRefused(concat(integer(62, 4, 0x10), rawString("v")), "COMPRESSION_ERROR", "INDEX_OUT_OF_RANGE");
  });

  it("INDEX_OUT_OF_RANGE: an index to an entry a size update evicted", () => {
    const decoder = new HpackDecoder();
    decoder.decode(concat(hex("40"), rawString("x-a"), rawString("1")));
    expect(decoder.decode(hex("be"))).toEqual([["x-a", "1"]]);
    expectRefused(hex("20 be"), "COMPRESSION_ERROR", "INDEX_OUT_OF_RANGE", decoder);
  });

  it("TABLE_SIZE_UPDATE_TOO_LARGE: a size update above the advertised table size", () => {
    expect(new HpackDecoder().decode(integer(4096, 5, 0x20))).toEqual([]);
    expectRefused(integer(4097, 5, 0x20), "COMPRESSION_ERROR", "TABLE_SIZE_UPDATE_TOO_LARGE");
    expectRefused(
      hex("21"),
      "COMPRESSION_ERROR",
      "TABLE_SIZE_UPDATE_TOO_LARGE",
      new HpackDecoder({ maxTableSize: 0 }),
    );
  });

  it("TABLE_SIZE_UPDATE_NOT_AT_START: a size update after a field", () => {
    expectRefused(hex("82 20"), "COMPRESSION_ERROR", "TABLE_SIZE_UPDATE_NOT_AT_START");
    expectRefused(hex("20 82 3f e1 1f"), "COMPRESSION_ERROR", "TABLE_SIZE_UPDATE_NOT_AT_START");
  });
});

describe("HpackDecoder: the header list limit is HEADER_LIST_TOO_LARGE", () => {
  it("counts name + value + 32 per field, as RFC 9113 does: a list of exactly the limit passes", () => {
    // Fields ":method: GET" (7 + 3 + 32 = 42) and "x: yy" (1 + 2 + 32 = 35).
    const block = concat(hex("82 00"), rawString("x"), rawString("yy"));
    expect(new HpackDecoder({ maxHeaderListSize: 77 }).decode(block)).toHaveLength(2);
    expectRefused(
      block,
      "HEADER_LIST_TOO_LARGE",
      "HEADER_LIST_TOO_LARGE",
      new HpackDecoder({ maxHeaderListSize: 76 }),
    );
  });

  it("refuses a plain string longer than what the limit leaves, before decoding it", () => {
    // "x" + 200 + 32 = 233 bytes of header list.
    const long = "v".repeat(200);
    const block = concat(hex("00"), rawString("x"), rawString(long));
    expectRefused(
      block,
      "HEADER_LIST_TOO_LARGE",
      "HEADER_LIST_TOO_LARGE",
      new HpackDecoder({ maxHeaderListSize: 100 }),
    );
    expect(new HpackDecoder({ maxHeaderListSize: 233 }).decode(block)).toEqual([["x", long]]);
  });

  it("stops a Huffman string once its decoded bytes pass the limit", () => {
    // '0' is 00000 (5 bits): 80 bytes of zero bits decode to 128 '0's; "x" + 128 + 32 = 161 bytes.
    const block = concat(hex("00"), rawString("x"), integer(80, 7, 0x80), new Uint8Array(80));
    expect(new HpackDecoder({ maxHeaderListSize: 161 }).decode(block)).toEqual([["x", "0".repeat(128)]]);
    expectRefused(
      block,
      "HEADER_LIST_TOO_LARGE",
      "HEADER_LIST_TOO_LARGE",
      new HpackDecoder({ maxHeaderListSize: 160 }),
    );
  });

  it("refuses many small fields past the limit", () => {
    const block = new Uint8Array(2000).fill(0x82); // 2000 x ":method: GET", 42 bytes each.
    expect(new HpackDecoder({ maxHeaderListSize: 42 * 2000 }).decode(block)).toHaveLength(2000);
    expectRefused(block, "HEADER_LIST_TOO_LARGE", "HEADER_LIST_TOO_LARGE");
  });

  it("refuses an HPACK bomb: one large dynamic entry referenced many times, by the list-size count", () => {
    // One 4,000-byte value indexed once, then 10,000 one-byte references to it: a 10 KB block that
    // would be a 40 MB header list. The count stops it at the 17th reference (17 x 4,033 > 65,536).
    const value = "v".repeat(4000);
    const entry = concat(hex("40"), rawString("x"), rawString(value));
    const bomb = concat(entry, new Uint8Array(10_000).fill(0xbe));
    const error = expectRefused(bomb, "HEADER_LIST_TOO_LARGE", "HEADER_LIST_TOO_LARGE");
    expect(error.message).toContain("65536");
    // The count is exact: 16 fields of 4,033 bytes (the literal and 15 references) fit, 17 do not.
    const sixteen = concat(entry, new Uint8Array(15).fill(0xbe));
    expect(new HpackDecoder().decode(sixteen)).toHaveLength(16);
    expectRefused(concat(sixteen, hex("be")), "HEADER_LIST_TOO_LARGE", "HEADER_LIST_TOO_LARGE");
  });
});

describe("HpackDecoder: after a failure", () => {
  it("refuses every later block (DECODER_FAILED): its table may be out of step", () => {
    const decoder = new HpackDecoder();
    expectRefused(hex("80"), "COMPRESSION_ERROR", "INDEX_ZERO", decoder);
    expectRefused(hex("82"), "COMPRESSION_ERROR", "DECODER_FAILED", decoder);
  });

  it("refuses every later block after a header list that was too large, too", () => {
    const decoder = new HpackDecoder({ maxHeaderListSize: 10 });
    expectRefused(hex("82"), "HEADER_LIST_TOO_LARGE", "HEADER_LIST_TOO_LARGE", decoder);
    expectRefused(new Uint8Array(0), "COMPRESSION_ERROR", "DECODER_FAILED", decoder);
  });
});

describe("HpackDecoder: options", () => {
  it.each([
    ["maxTableSize", -1],
    ["maxTableSize", 1.5],
    ["maxTableSize", 2 ** 31],
    ["maxHeaderListSize", Number.NaN],
    ["maxHeaderListSize", -5],
  ])("refuses %s = %d with an InvalidArgumentError naming it", (field, value) => {
    expect(() => new HpackDecoder({ [field]: value })).toThrow(InvalidArgumentError);
    expect(() => new HpackDecoder({ [field]: value })).toThrow(expect.objectContaining({ field }));
  });

  it("defaults to a 4096-byte table and a 64 KiB header list", () => {
    const decoder = new HpackDecoder();
    expect(decoder.decode(integer(4096, 5, 0x20))).toEqual([]);
    expectRefused(integer(4097, 5, 0x20), "COMPRESSION_ERROR", "TABLE_SIZE_UPDATE_TOO_LARGE");
    const value = "v".repeat(65536 - 32 - 1);
    expect(new HpackDecoder().decode(concat(hex("00"), rawString("x"), rawString(value)))).toHaveLength(1);
    expectRefused(
      concat(hex("00"), rawString("x"), rawString(`${value}v`)),
      "HEADER_LIST_TOO_LARGE",
      "HEADER_LIST_TOO_LARGE",
    );
  });
});
