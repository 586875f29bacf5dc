import { InvalidArgumentError } from "../core/errors.js";

/** Keys and values as users give them: text (encoded as UTF-8) or raw bytes. */
export type Bytes = string | Uint8Array;

const encoder = new TextEncoder();

/** Strings up to this length are tried as ASCII in JS first: cheaper than a call into the encoder. */
const SHORT = 64;

/**
 * Encodes a string as UTF-8; passes bytes through without copying. Anything else (a number, `null`, an
 * object from a JavaScript caller) is an `InvalidArgumentError` naming `field`, before anything is sent.
 */
export function toBytes(input: Bytes, field = "key"): Uint8Array {
  if (typeof input !== "string") {
    if (input instanceof Uint8Array) return input;
    throw new InvalidArgumentError(field, `must be a string or a Uint8Array, got ${describe(input)}`);
  }
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

/** Names what a JavaScript caller passed, for error messages (never its contents: it may be a secret). */
export function describe(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "an array";
  return typeof value === "object"
    ? `an object (${value.constructor?.name ?? "no prototype"})`
    : typeof value;
}
