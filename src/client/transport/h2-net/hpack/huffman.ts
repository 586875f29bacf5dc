import { HpackError } from "./errors.js";
import { HUFFMAN_CODE_LENGTHS, HUFFMAN_CODES } from "./huffman-table.js";

/**
 * Decoding reads a byte at a time through a tree of 256-way nodes (Go's hpack decoder, flattened into
 * one array): the entry of node `n` for byte `b` is at `n * 256 + b` and is 0 where no symbol starts
 * (the EOS code), `LEAF | bits << 8 | symbol` where a symbol ends after `bits` bits of that byte, or the
 * index of the next node. The root is node 0; built once, read-only.
 */
const LEAF = 0x10000;
const DECODE_TABLE: Int32Array = buildDecodeTable();
/** The code as typed arrays: the encoder's loops read them per character. */
const CODES = Int32Array.from(HUFFMAN_CODES);
const CODE_LENGTHS = Uint8Array.from(HUFFMAN_CODE_LENGTHS);

/** The most bytes `length` bytes of Huffman code can decode to: every code is at least 5 bits. */
export function maxHuffmanDecodedLength(length: number): number {
  return Math.floor((length * 8) / 5);
}

/**
 * Decodes the Huffman-coded string in `src[start, end)` into `out` (which must hold
 * {@link maxHuffmanDecodedLength} bytes, or `limit` + 1 when that is less) and returns the decoded
 * length, or -1 as soon as it would exceed `limit`.
 * @throws HpackError `HUFFMAN_EOS` for an EOS symbol, `HUFFMAN_PADDING` for more than 7 bits of padding
 *   or padding that is not all ones (RFC 7541 section 5.2).
 */
export function huffmanDecode(
  src: Uint8Array,
  start: number,
  end: number,
  out: Uint8Array,
  limit: number,
): number {
  let node = 0;
  // `cur` holds the bits not yet consumed (the low `cbits` of it); `sbits` counts the bits of the
  // symbol under way, for the padding check.
  let cur = 0;
  let cbits = 0;
  let sbits = 0;
  let length = 0;
  for (let i = start; i < end; i++) {
    // cbits < 8 here, so 16 bits hold all that is pending.
    cur = ((cur << 8) | src[i]!) & 0xffff;
    cbits += 8;
    sbits += 8;
    while (cbits >= 8) {
      const entry = DECODE_TABLE[node * 256 + ((cur >>> (cbits - 8)) & 0xff)]!;
      if (entry === 0) throw new HpackError("HUFFMAN_EOS", "Huffman-coded string holds the EOS symbol");
      if (entry & LEAF) {
        if (length === limit) return -1;
        out[length++] = entry & 0xff;
        cbits -= (entry >>> 8) & 0xff;
        node = 0;
        sbits = cbits;
      } else {
        node = entry;
        cbits -= 8;
      }
    }
  }
  // Fewer than 8 bits left: whole symbols among them (codes of 5 to 7 bits), then the padding.
  while (cbits > 0) {
    const entry = DECODE_TABLE[node * 256 + ((cur << (8 - cbits)) & 0xff)]!;
    if (!(entry & LEAF) || ((entry >>> 8) & 0xff) > cbits) break;
    if (length === limit) return -1;
    out[length++] = entry & 0xff;
    cbits -= (entry >>> 8) & 0xff;
    node = 0;
    sbits = cbits;
  }
  if (sbits > 7) throw new HpackError("HUFFMAN_PADDING", "Huffman-coded string ends in more than 7 bits");
  const mask = (1 << cbits) - 1;
  if ((cur & mask) !== mask)
    throw new HpackError("HUFFMAN_PADDING", "Huffman-coded string's padding is not all ones");
  return length;
}

/**
 * The length in bytes of the Huffman code of `text` (one byte per character), or -1 when a character
 * is above U+00FF and so no byte.
 */
export function huffmanEncodedLength(text: string): number {
  let bits = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c > 0xff) return -1;
    bits += CODE_LENGTHS[c]!;
  }
  return (bits + 7) >>> 3;
}

/**
 * Writes the Huffman code of `text` (characters below U+0100, which the caller checked) into `out` at
 * `offset`, padded with ones to a whole byte, and returns the offset after it.
 */
export function huffmanEncode(text: string, out: Uint8Array, offset: number): number {
  // At most 7 bits wait in `acc` between characters; a code of more than 16 bits goes in two steps so
  // `acc` never needs more than 23 bits (bitwise operators work on 32).
  let acc = 0;
  let bits = 0;
  let o = offset;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i) & 0xff;
    let code = CODES[c]!;
    let len = CODE_LENGTHS[c]!;
    if (len > 16) {
      acc = (acc << (len - 16)) | (code >>> 16);
      bits += len - 16;
      while (bits >= 8) {
        bits -= 8;
        out[o++] = (acc >>> bits) & 0xff;
      }
      acc &= (1 << bits) - 1;
      code &= 0xffff;
      len = 16;
    }
    acc = (acc << len) | code;
    bits += len;
    while (bits >= 8) {
      bits -= 8;
      out[o++] = (acc >>> bits) & 0xff;
    }
    acc &= (1 << bits) - 1;
  }
  if (bits > 0) out[o++] = ((acc << (8 - bits)) | (0xff >>> bits)) & 0xff;
  return o;
}

/** Builds {@link DECODE_TABLE} from the code (Go's `buildRootHuffmanNode`, as one typed array). */
function buildDecodeTable(): Int32Array {
  const nodes: number[][] = [new Array<number>(256).fill(0)];
  for (let symbol = 0; symbol < 256; symbol++) {
    const code = HUFFMAN_CODES[symbol]!;
    let len = HUFFMAN_CODE_LENGTHS[symbol]!;
    let node = 0;
    while (len > 8) {
      len -= 8;
      const byte = (code >>> len) & 0xff;
      let next = nodes[node]![byte]!;
      if (next === 0) {
        next = nodes.length;
        nodes.push(new Array<number>(256).fill(0));
        nodes[node]![byte] = next;
      }
      node = next;
    }
    // The last `len` bits: every byte that starts with them ends this symbol.
    const shift = 8 - len;
    const first = (code << shift) & 0xff;
    for (let b = first; b < first + (1 << shift); b++) nodes[node]![b] = LEAF | (len << 8) | symbol;
  }
  const table = new Int32Array(nodes.length * 256);
  nodes.forEach((entries, n) => {
    table.set(entries, n * 256);
  });
  return table;
}
