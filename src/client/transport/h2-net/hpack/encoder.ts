import { HpackError } from "./errors.js";
import { huffmanEncode, huffmanEncodedLength } from "./huffman.js";
import { firstNonLatin1 } from "./latin1.js";
import { STATIC_NAMES } from "./static-table.js";

/**
 * Encodes header fields into one HPACK header block (RFC 7541) that depends on no state: each field is
 * either an indexed field of the static table (a name and value the table holds, e.g. `:method: POST`)
 * or a literal without indexing (section 6.2.2), with the static table's index of the name when it has
 * one. Each string is Huffman-coded only when that makes it shorter.
 *
 * The dynamic table is left alone on purpose. With no entries of ours in the peer's table there is no
 * state to keep in step with it (no eviction to mirror, no size update to follow, nothing to undo when a
 * block is never sent), so every block is valid whenever it is sent and on any connection: a method's
 * fixed headers can be encoded once and reused, and a call's block is that block with the few fields
 * that vary per call (deadline, token) appended, since blocks made this way concatenate into a valid
 * block. The dynamic table would save a few bytes per call on a local link; it is not worth the state.
 *
 * Names and values are strings of one character per byte (U+0000 to U+00FF), as `node:http2` takes
 * them; the caller has checked them as HTTP fields (lowercase names, no CR, LF or NUL).
 * @throws HpackError `INVALID_FIELD` (reason `NOT_LATIN1`) for a character above U+00FF.
 */
export function encodeHeaderBlock(headers: readonly (readonly [name: string, value: string])[]): Uint8Array {
  // One pass to choose each representation and measure it exactly, one to write: a buffer of the exact
  // size, no growing and no copy at the end.
  const count = headers.length;
  // Per field: the static index of the whole field as a negative number, or the static index of the
  // name (0 for none), then each string's length as `stringLength` chose it.
  const plans = new Int32Array(count * 3);
  let size = 0;
  for (let i = 0; i < count; i++) {
    const [name, value] = headers[i]!;
    const named = STATIC_NAMES.get(name);
    const fieldIndex = named?.values.get(value);
    if (fieldIndex !== undefined) {
      plans[i * 3] = -fieldIndex;
      size += integerLength(fieldIndex, 7);
      continue;
    }
    const nameIndex = named?.index ?? 0;
    plans[i * 3] = nameIndex;
    size += integerLength(nameIndex, 4);
    if (nameIndex === 0) {
      const nameLength = stringLength(name, name, "name");
      plans[i * 3 + 1] = nameLength;
      size += Math.abs(nameLength) + integerLength(Math.abs(nameLength), 7);
    }
    const valueLength = stringLength(value, name, "value");
    plans[i * 3 + 2] = valueLength;
    size += Math.abs(valueLength) + integerLength(Math.abs(valueLength), 7);
  }
  const out = new Uint8Array(size);
  let offset = 0;
  for (let i = 0; i < count; i++) {
    const [name, value] = headers[i]!;
    const plan = plans[i * 3]!;
    if (plan < 0) {
      offset = writeInteger(out, offset, -plan, 7, 0x80);
      continue;
    }
    offset = writeInteger(out, offset, plan, 4, 0x00);
    if (plan === 0) offset = writeString(out, offset, name, plans[i * 3 + 1]!);
    offset = writeString(out, offset, value, plans[i * 3 + 2]!);
  }
  return out;
}

/**
 * How `text` is best written: its Huffman length as a negative number when the code is shorter than
 * the text, else its plain length.
 * @throws HpackError `NOT_LATIN1` for a character above U+00FF (`name` and `what` say where).
 */
function stringLength(text: string, name: string, what: "name" | "value"): number {
  const huffman = huffmanEncodedLength(text);
  if (huffman < 0) throw notLatin1(text, name, what);
  return huffman < text.length ? -huffman : text.length;
}

/** Writes `text` as a string literal of the length (and form) {@link stringLength} chose. */
function writeString(out: Uint8Array, offset: number, text: string, length: number): number {
  if (length < 0) {
    const o = writeInteger(out, offset, -length, 7, 0x80);
    return huffmanEncode(text, out, o);
  }
  let o = writeInteger(out, offset, length, 7, 0x00);
  for (let i = 0; i < length; i++) out[o++] = text.charCodeAt(i);
  return o;
}

/** The bytes an integer takes with a `prefixBits`-bit prefix (section 5.1). */
function integerLength(value: number, prefixBits: number): number {
  const max = (1 << prefixBits) - 1;
  if (value < max) return 1;
  let length = 2;
  for (let rest = value - max; rest >= 128; rest = Math.floor(rest / 128)) length++;
  return length;
}

/** Writes an integer with a `prefixBits`-bit prefix after the `flags` bits of its first byte. */
function writeInteger(
  out: Uint8Array,
  offset: number,
  value: number,
  prefixBits: number,
  flags: number,
): number {
  const max = (1 << prefixBits) - 1;
  let o = offset;
  if (value < max) {
    out[o++] = flags | value;
    return o;
  }
  out[o++] = flags | max;
  let rest = value - max;
  while (rest >= 128) {
    out[o++] = (rest % 128) | 0x80;
    rest = Math.floor(rest / 128);
  }
  out[o++] = rest;
  return o;
}

function notLatin1(text: string, name: string, what: "name" | "value"): HpackError {
  const field = what === "name" ? "header name" : `value of header ${JSON.stringify(name)}`;
  return new HpackError(
    "NOT_LATIN1",
    `${field} has a character above U+00FF at ${firstNonLatin1(text)}: fields are bytes, one character each`,
  );
}
