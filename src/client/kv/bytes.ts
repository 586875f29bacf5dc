/** Keys and values as users give them: text (encoded as UTF-8) or raw bytes. */
export type Bytes = string | Uint8Array;

const encoder = new TextEncoder();

/** Encodes a string as UTF-8; passes bytes through without copying. */
export function toBytes(input: Bytes): Uint8Array {
  return typeof input === "string" ? encoder.encode(input) : input;
}
