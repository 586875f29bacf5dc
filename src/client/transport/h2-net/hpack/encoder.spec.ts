import { describe, expect, it } from "vitest";
import { concat, hex, integer, rawString, toHex } from "../../../../../test/support/hpack-blocks.js";
import { type HeaderField, HpackDecoder } from "./decoder.js";
import { encodeHeaderBlock } from "./encoder.js";
import { HpackError } from "./errors.js";
import { huffmanEncode, huffmanEncodedLength } from "./huffman.js";
import { STATIC_TABLE } from "./static-table.js";

function huffman(text: string): Uint8Array {
  const out = new Uint8Array(huffmanEncodedLength(text));
  huffmanEncode(text, out, 0);
  return concat(integer(out.length, 7, 0x80), out);
}

describe("encodeHeaderBlock: representations", () => {
  it("encodes a name and value of the static table as one indexed byte", () => {
    expect(toHex(encodeHeaderBlock([[":method", "POST"]]))).toBe("83");
    expect(toHex(encodeHeaderBlock([[":scheme", "https"]]))).toBe("87");
    expect(toHex(encodeHeaderBlock([[":path", "/"]]))).toBe("84");
    // Static entries with an empty value match an empty value.
    expect(toHex(encodeHeaderBlock([[":authority", ""]]))).toBe("81");
  });

  it("indexes every static entry by its name and value", () => {
    STATIC_TABLE.forEach(([name, value], i) => {
      expect(encodeHeaderBlock([[name, value]])).toEqual(integer(i + 1, 7, 0x80));
    });
  });

  it("encodes a static name with another value as a literal without indexing naming the static entry", () => {
    // content-type is static index 31: 4-bit prefix 15, then 16.
    expect(encodeHeaderBlock([["content-type", "application/grpc"]])).toEqual(
      concat(hex("0f 10"), huffman("application/grpc")),
    );
    // :method (index 2, its lowest) with a value the table lacks.
    expect(encodeHeaderBlock([[":method", "PUT"]])).toEqual(concat(hex("02"), rawString("PUT")));
  });

  it("encodes a name the static table lacks as a literal without indexing with a literal name", () => {
    // "te" codes to 10 bits: 2 bytes either way, so it stays plain; "trailers" codes to 6 bytes.
    expect(encodeHeaderBlock([["te", "trailers"]])).toEqual(
      concat(hex("00"), rawString("te"), huffman("trailers")),
    );
  });

  it("Huffman-codes a string only when that is shorter", () => {
    // "aaaa": 4 x 5 bits = 3 bytes < 4. "a": 5 bits = 1 byte, not shorter. "\0\x01": 13 + 23 bits.
    expect(encodeHeaderBlock([["x", "aaaa"]])).toEqual(concat(hex("00"), rawString("x"), huffman("aaaa")));
    expect(encodeHeaderBlock([["x", "a"]])).toEqual(concat(hex("00"), rawString("x"), rawString("a")));
    expect(encodeHeaderBlock([["x", "\0\x01"]])).toEqual(
      concat(hex("00"), rawString("x"), rawString("\0\x01")),
    );
  });

  it("writes string lengths of 127 and more with continuation bytes", () => {
    const long = "\xff".repeat(300); // 0xff codes to 26 bits: plain is shorter.
    expect(encodeHeaderBlock([["x", long]])).toEqual(concat(hex("00"), rawString("x"), rawString(long)));
    expect(toHex(encodeHeaderBlock([["x", long]]).subarray(3, 5))).toBe("7fad");
  });

  it("encodes no fields as an empty block", () => {
    expect(encodeHeaderBlock([])).toEqual(new Uint8Array(0));
  });

  it("returns a buffer of exactly the block's size", () => {
    const block = encodeHeaderBlock([
      [":method", "POST"],
      [":path", "/etcdserverpb.KV/Range"],
      ["content-type", "application/grpc"],
      ["te", "trailers"],
    ]);
    expect(block.byteOffset).toBe(0);
    expect(block.buffer.byteLength).toBe(block.length);
  });
});

describe("encodeHeaderBlock: what it gives decodes back", () => {
  const grpcRequest: HeaderField[] = [
    [":method", "POST"],
    [":scheme", "http"],
    [":path", "/etcdserverpb.KV/Put"],
    [":authority", "127.0.0.1:2379"],
    ["content-type", "application/grpc"],
    ["te", "trailers"],
    ["user-agent", "etcd-ts/0.1.0"],
    ["grpc-timeout", "5000m"],
    ["token", "hLcPKyDyTPeDtLhq.42"],
    ["x-bin", "AAECAwQ="],
  ];

  it("round-trips a gRPC request's headers", () => {
    expect(new HpackDecoder().decode(encodeHeaderBlock(grpcRequest))).toEqual(grpcRequest);
  });

  it("round-trips every byte value in names and values", () => {
    const all = String.fromCharCode(...Array.from({ length: 256 }, (_, i) => i));
    const fields: HeaderField[] = [
      [all, all],
      ["", ""],
      ["x", all.slice(0x80)],
    ];
    expect(new HpackDecoder().decode(encodeHeaderBlock(fields))).toEqual(fields);
  });

  it("round-trips random fields", () => {
    // A fixed-seed generator: the same fields on every run.
    let state = 0x9e3779b9;
    const next = (n: number): number => {
      state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
      return state % n;
    };
    for (let round = 0; round < 200; round++) {
      const fields: HeaderField[] = [];
      const count = next(8);
      for (let f = 0; f < count; f++) {
        const pick = next(4);
        if (pick === 0) {
          fields.push([...STATIC_TABLE[next(STATIC_TABLE.length)]!] as HeaderField);
          continue;
        }
        const text = (length: number, range: number): string =>
          String.fromCharCode(...Array.from({ length }, () => next(range)));
        const name = pick === 1 ? STATIC_TABLE[next(STATIC_TABLE.length)]![0] : text(next(20), 128);
        fields.push([name, text(next(pick === 3 ? 400 : 40), pick === 3 ? 256 : 128)]);
      }
      expect(new HpackDecoder().decode(encodeHeaderBlock(fields))).toEqual(fields);
    }
  });

  it("concatenates: a method's block followed by a call's block is one valid block", () => {
    const method = encodeHeaderBlock(grpcRequest.slice(0, 7));
    const call = encodeHeaderBlock(grpcRequest.slice(7));
    expect(new HpackDecoder().decode(concat(method, call))).toEqual(grpcRequest);
  });

  it("depends on no dynamic table: it decodes the same whatever the peer's table holds, and adds nothing", () => {
    const block = encodeHeaderBlock(grpcRequest);
    const decoder = new HpackDecoder();
    decoder.decode(
      concat(hex("40"), rawString("x-a"), rawString("1"), hex("40"), rawString("x-b"), rawString("2")),
    );
    const before = decoder.tableEntries();
    expect(decoder.decode(block)).toEqual(grpcRequest);
    expect(decoder.decode(block)).toEqual(grpcRequest);
    expect(decoder.tableEntries()).toEqual(before);
    expect(new HpackDecoder({ maxTableSize: 0 }).decode(block)).toEqual(grpcRequest);
  });
});

describe("encodeHeaderBlock: fields it cannot encode", () => {
  it("refuses a character above U+00FF in a value or a name, naming it (INVALID_FIELD)", () => {
    expect(() => encodeHeaderBlock([["x", "caf\u00e9 \u20ac"]])).toThrow(
      expect.objectContaining({ name: "HpackError", code: "INVALID_FIELD", reason: "NOT_LATIN1" }),
    );
    expect(() => encodeHeaderBlock([["x", "\u20ac"]])).toThrow(/value of header "x".*U\+00FF at 0/);
    expect(() => encodeHeaderBlock([["\u{1f600}", "v"]])).toThrow(HpackError);
    expect(() => encodeHeaderBlock([["\u{1f600}", "v"]])).toThrow(/name/);
  });
});
