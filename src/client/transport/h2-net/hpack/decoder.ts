import { InvalidArgumentError } from "../../../core/errors.js";
import { DynamicTable, ENTRY_OVERHEAD } from "./dynamic-table.js";
import { HpackError } from "./errors.js";
import { huffmanDecode, maxHuffmanDecodedLength } from "./huffman.js";
import { latin1String } from "./latin1.js";
import { STATIC_TABLE, STATIC_TABLE_LENGTH } from "./static-table.js";

/** One header field: its name and value, one character per byte (see `latin1.ts`). */
export type HeaderField = [name: string, value: string];

/** Limits of an {@link HpackDecoder}: what the connection advertises in its SETTINGS. */
export interface HpackDecoderOptions {
  /**
   * The most the dynamic table may hold, in RFC 7541 bytes (name + value + 32 per entry): our
   * SETTINGS_HEADER_TABLE_SIZE. The table starts at this size; a size update may shrink it or grow it
   * back, never above. Default 4096, the protocol's initial value, which needs no SETTINGS entry. (A
   * smaller value would bind the peer only once it has acknowledged our SETTINGS: keep the default.)
   */
  maxTableSize?: number | undefined;
  /**
   * The largest header list a block may decode to, counted as RFC 9113 section 6.5.2 does: name + value
   * + 32 per field. Our SETTINGS_MAX_HEADER_LIST_SIZE. Default 65536 (64 KiB).
   */
  maxHeaderListSize?: number | undefined;
}

/** The protocol's initial SETTINGS_HEADER_TABLE_SIZE (RFC 9113 section 6.5.2). */
export const DEFAULT_MAX_TABLE_SIZE = 4096;
/** Our default SETTINGS_MAX_HEADER_LIST_SIZE: 64 KiB, far above what gRPC's headers and trailers take. */
export const DEFAULT_MAX_HEADER_LIST_SIZE = 65536;

const EMPTY = new Uint8Array(0);

/** The largest integer a block may hold: 2^31 - 1 (sizes, lengths and indices all stay far below). */
const MAX_INTEGER = 0x7fffffff;
/** Continuation bytes an integer of up to 31 bits needs at most, whatever its prefix. */
const MAX_CONTINUATION_BYTES = 5;
/** Huffman output up to this size goes through the decoder's kept buffer; larger, through its own. */
const KEPT_SCRATCH = 4096;
/** The kept buffer's first size: enough for a gRPC status message, so it is rarely replaced. */
const MIN_SCRATCH = 256;

/**
 * The HPACK decoder of one HTTP/2 connection (RFC 7541): the static table, the dynamic table the peer's
 * encoder fills, size updates, integers, plain and Huffman-coded strings, and the four field
 * representations. Decode every header block of the connection through it, in the order the blocks
 * arrived (HEADERS plus its CONTINUATION fragments, joined, as one block).
 *
 * Every fault throws an {@link HpackError} before the header list is built, and nothing grows without
 * bound: integers stop at 2^31 - 1, strings at the end of the block or at the header list limit, the
 * header list at `maxHeaderListSize` (a small block naming one large entry many times fails by the count,
 * not by memory), the table at `maxTableSize`. After any failure the decoder refuses every later block
 * (`DECODER_FAILED`): its table may no longer match the peer's, and the connection must end.
 */
export class HpackDecoder {
  readonly #table: DynamicTable;
  readonly #maxTableSize: number;
  readonly #maxHeaderListSize: number;
  /** Huffman output up to `KEPT_SCRATCH` bytes; allocated at the first Huffman string. */
  #scratch: Uint8Array = EMPTY;
  #failed = false;
  /** The block being decoded and the position in it. */
  #block: Uint8Array = new Uint8Array(0);
  #pos = 0;

  /** @throws InvalidArgumentError for a limit that is not an integer from 0 to 2^31 - 1. */
  constructor(options: HpackDecoderOptions = {}) {
    this.#maxTableSize = checkLimit("maxTableSize", options.maxTableSize, DEFAULT_MAX_TABLE_SIZE);
    this.#maxHeaderListSize = checkLimit(
      "maxHeaderListSize",
      options.maxHeaderListSize,
      DEFAULT_MAX_HEADER_LIST_SIZE,
    );
    this.#table = new DynamicTable(this.#maxTableSize);
  }

  /** The dynamic table's current size in RFC 7541 bytes (for tests and diagnostics). */
  get tableSize(): number {
    return this.#table.size;
  }

  /** The dynamic table's entries, newest first (for tests and diagnostics). */
  tableEntries(): HeaderField[] {
    const entries: HeaderField[] = [];
    for (let i = 0; i < this.#table.length; i++) entries.push([this.#table.name(i), this.#table.value(i)]);
    return entries;
  }

  /**
   * Decodes one complete header block into its fields, in order, updating the dynamic table.
   * @throws HpackError `COMPRESSION_ERROR` for a malformed block, `HEADER_LIST_TOO_LARGE` beyond
   *   `maxHeaderListSize`; either way the connection must end (every later call throws too).
   */
  decode(block: Uint8Array): HeaderField[] {
    if (this.#failed)
      throw new HpackError("DECODER_FAILED", "HPACK decoder used after a failed header block");
    try {
      return this.#decodeBlock(block);
    } catch (error) {
      this.#failed = true;
      throw error;
    } finally {
      this.#block = EMPTY;
    }
  }

  #decodeBlock(block: Uint8Array): HeaderField[] {
    this.#block = block;
    this.#pos = 0;
    const fields: HeaderField[] = [];
    const maxListSize = this.#maxHeaderListSize;
    let listSize = 0;
    while (this.#pos < block.length) {
      const first = block[this.#pos]!;
      let name: string;
      let value: string;
      if (first & 0x80) {
        // Indexed field (section 6.1).
        const index = this.#readInteger(7);
        if (index === 0) throw new HpackError("INDEX_ZERO", "indexed header field with index 0");
        name = this.#nameAt(index);
        value = this.#valueAt(index);
      } else if (first & 0x40) {
        // Literal with incremental indexing (section 6.2.1).
        const index = this.#readInteger(6);
        name = index === 0 ? this.#readString(maxListSize - listSize - ENTRY_OVERHEAD) : this.#nameAt(index);
        value = this.#readString(maxListSize - listSize - ENTRY_OVERHEAD - name.length);
        this.#table.add(name, value);
      } else if (first & 0x20) {
        // Dynamic table size update (section 6.3): only before the block's first field (section 4.2).
        if (fields.length > 0)
          throw new HpackError(
            "TABLE_SIZE_UPDATE_NOT_AT_START",
            "dynamic table size update after a header field",
          );
        const size = this.#readInteger(5);
        if (size > this.#maxTableSize)
          throw new HpackError(
            "TABLE_SIZE_UPDATE_TOO_LARGE",
            `dynamic table size update to ${size} bytes, above the ${this.#maxTableSize} advertised`,
          );
        this.#table.setMaxSize(size);
        continue;
      } else {
        // Literal without indexing (0000) or never indexed (0001) (sections 6.2.2, 6.2.3): the
        // difference matters to intermediaries re-encoding the field, not to a client reading it.
        const index = this.#readInteger(4);
        name = index === 0 ? this.#readString(maxListSize - listSize - ENTRY_OVERHEAD) : this.#nameAt(index);
        value = this.#readString(maxListSize - listSize - ENTRY_OVERHEAD - name.length);
      }
      listSize += name.length + value.length + ENTRY_OVERHEAD;
      if (listSize > maxListSize) throw listTooLarge(maxListSize);
      fields.push([name, value]);
    }
    return fields;
  }

  /** Reads an integer with an `prefixBits`-bit prefix (section 5.1) at the current position. */
  #readInteger(prefixBits: number): number {
    const block = this.#block;
    let pos = this.#pos;
    const mask = (1 << prefixBits) - 1;
    let value = block[pos++]! & mask;
    if (value === mask) {
      let factor = 1;
      for (let count = 0; ; count++) {
        if (count === MAX_CONTINUATION_BYTES)
          throw new HpackError("INTEGER_OVERFLOW", "integer with too many continuation bytes");
        if (pos >= block.length) throw truncated("integer");
        const byte = block[pos++]!;
        value += (byte & 0x7f) * factor;
        if (value > MAX_INTEGER) throw new HpackError("INTEGER_OVERFLOW", "integer above 2^31 - 1");
        if ((byte & 0x80) === 0) break;
        factor *= 128;
      }
    }
    this.#pos = pos;
    return value;
  }

  /**
   * Reads a string literal (section 5.2) at the current position; `budget` is what the header list
   * has left for it.
   */
  #readString(budget: number): string {
    const block = this.#block;
    if (this.#pos >= block.length) throw truncated("string");
    const huffman = (block[this.#pos]! & 0x80) !== 0;
    const length = this.#readInteger(7);
    const start = this.#pos;
    if (length > block.length - start) throw truncated("string");
    this.#pos = start + length;
    if (!huffman) {
      if (length > budget) throw listTooLarge(this.#maxHeaderListSize);
      return latin1String(block, start, start + length);
    }
    const limit = Math.max(0, budget);
    const room = Math.min(maxHuffmanDecodedLength(length), limit);
    let out = this.#scratch;
    if (out.length < room) {
      if (room > KEPT_SCRATCH) out = new Uint8Array(room);
      else this.#scratch = out = new Uint8Array(Math.max(room, MIN_SCRATCH));
    }
    const decoded = huffmanDecode(block, start, start + length, out, limit);
    if (decoded < 0) throw listTooLarge(this.#maxHeaderListSize);
    return latin1String(out, 0, decoded);
  }

  #nameAt(index: number): string {
    if (index <= STATIC_TABLE_LENGTH) return STATIC_TABLE[index - 1]![0];
    return this.#table.name(this.#dynamicIndex(index));
  }

  #valueAt(index: number): string {
    if (index <= STATIC_TABLE_LENGTH) return STATIC_TABLE[index - 1]![1];
    return this.#table.value(this.#dynamicIndex(index));
  }

  /** The dynamic table position (0 = newest) of `index`, which is above the static table. */
  #dynamicIndex(index: number): number {
    const position = index - STATIC_TABLE_LENGTH - 1;
    if (position >= this.#table.length)
      throw new HpackError(
        "INDEX_OUT_OF_RANGE",
        `index ${index} beyond the tables (${STATIC_TABLE_LENGTH} static, ${this.#table.length} dynamic entries)`,
      );
    return position;
  }
}

function truncated(what: string): HpackError {
  return new HpackError("TRUNCATED", `header block ends inside a ${what}`);
}

function listTooLarge(max: number): HpackError {
  return new HpackError("HEADER_LIST_TOO_LARGE", `header list larger than ${max} bytes`);
}

function checkLimit(field: string, value: number | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  if (!Number.isInteger(value) || value < 0 || value > MAX_INTEGER)
    throw new InvalidArgumentError(field, `must be an integer from 0 to 2^31 - 1, got ${value}`);
  return value;
}
