// Helpers for the HPACK specs (src/client/transport/h2-net/hpack/*.spec.ts): blocks written by hand.

/** Bytes from hex text, ignoring whitespace, as RFC 7541 Appendix C prints them. */
export function hex(text: string): Uint8Array {
  const digits = text.replace(/\s+/g, "");
  if (digits.length % 2 !== 0 || /[^0-9a-f]/i.test(digits)) throw new Error(`bad hex ${text}`);
  const bytes = new Uint8Array(digits.length / 2);
  for (let i = 0; i < bytes.length; i++) bytes[i] = Number.parseInt(digits.slice(i * 2, i * 2 + 2), 16);
  return bytes;
}

/** Hex text of bytes, for readable failures. */
export function toHex(bytes: Uint8Array): string {
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

/** The bytes of several blocks, one after the other. */
export function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.length;
  }
  return out;
}

/** A string literal without Huffman coding: 7-bit-prefix length, then the bytes (one per character). */
export function rawString(text: string): Uint8Array {
  return concat(
    integer(text.length, 7, 0x00),
    Uint8Array.from(text, (c) => c.charCodeAt(0)),
  );
}

/** An integer with a `prefixBits`-bit prefix after `flags` (RFC 7541 section 5.1), written by hand. */
export function integer(value: number, prefixBits: number, flags: number): Uint8Array {
  const max = 2 ** prefixBits - 1;
  if (value < max) return Uint8Array.of(flags | value);
  const bytes = [flags | max];
  let rest = value - max;
  while (rest >= 128) {
    bytes.push((rest % 128) + 128);
    rest = Math.floor(rest / 128);
  }
  bytes.push(rest);
  return Uint8Array.from(bytes);
}
