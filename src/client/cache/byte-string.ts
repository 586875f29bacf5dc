/**
 * Bytes kept as a "byte string": one character per byte (char codes 0–255). V8 stores such a string with
 * one byte per character behind a 16-byte header, which makes it the most compact immutable byte
 * container JavaScript has (a `Uint8Array` costs a few hundred bytes of objects and bookkeeping before
 * its first byte), and comparing two byte strings with `<` orders them as etcd orders keys (bytewise).
 */

/** Characters converted per `String.fromCharCode` call: the arguments go on the stack. */
const CHUNK = 8192;

/** The byte string of `bytes` (a copy: it keeps no reference to their buffer). */
export function toByteString(bytes: Uint8Array): string {
  const n = bytes.length;
  if (n <= CHUNK) return String.fromCharCode.apply(null, bytes as unknown as number[]);
  let out = "";
  for (let i = 0; i < n; i += CHUNK)
    out += String.fromCharCode.apply(null, bytes.subarray(i, i + CHUNK) as unknown as number[]);
  return out;
}

/** The bytes of a byte string, in a new array. */
export function fromByteString(text: string): Uint8Array {
  const n = text.length;
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i++) out[i] = text.charCodeAt(i);
  return out;
}
