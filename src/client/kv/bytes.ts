/** Keys and values as users give them: text (encoded as UTF-8) or raw bytes. */
export type Bytes = string | Uint8Array;

const encoder = new TextEncoder();

/** Strings up to this length are tried as ASCII in JS first: cheaper than a call into the encoder. */
const SHORT = 64;

/** Encodes a string as UTF-8; passes bytes through without copying. */
export function toBytes(input: Bytes): Uint8Array {
  if (typeof input !== "string") return input;
  const n = input.length;
  if (n > SHORT) return encoder.encode(input);
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i++) {
    const c = input.charCodeAt(i);
    // Not ASCII: UTF-8 takes more bytes than characters; the encoder does it.
    if (c > 0x7f) return encoder.encode(input);
    out[i] = c;
  }
  return out;
}
