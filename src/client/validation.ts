import { InvalidArgumentError, RequestTooLargeError } from "./errors.js";

/** Rejects an empty key (etcd answers "key is not provided" only after a round trip). */
export function checkKey(key: Uint8Array, field = "key"): Uint8Array {
  if (key.length === 0) throw new InvalidArgumentError(field, "must not be empty");
  return key;
}

/** Rejects a request whose key and value alone exceed the server's request limit. */
export function checkRequestSize(key: Uint8Array, value: Uint8Array, maxRequestBytes: number): void {
  if (key.length + value.length > maxRequestBytes) {
    throw new RequestTooLargeError(
      `value: ${value.length} bytes (with a ${key.length}-byte key) exceed the request limit of ${maxRequestBytes} bytes`,
      { field: "value" },
    );
  }
}

/** Checks that `value` is an integer >= `min` (numbers or bigints); returns it as a bigint. */
export function checkInteger(value: number | bigint, field: string, min = 0): bigint {
  if (typeof value === "bigint") {
    if (value < BigInt(min)) throw new InvalidArgumentError(field, `must be >= ${min}, got ${value}`);
    return value;
  }
  if (typeof value !== "number" || !Number.isSafeInteger(value))
    throw new InvalidArgumentError(field, `must be an integer, got ${String(value)}`);
  if (value < min) throw new InvalidArgumentError(field, `must be >= ${min}, got ${value}`);
  return BigInt(value);
}

/** Checks an optional number option: finite and >= `min`. */
export function checkNumber(value: number | undefined, field: string, min: number): void {
  if (value === undefined) return;
  if (typeof value !== "number" || !Number.isFinite(value) || value < min)
    throw new InvalidArgumentError(field, `must be a number >= ${min}, got ${String(value)}`);
}

/** Checks a lease TTL in seconds: a positive integer (etcd rounds nothing; 0 and fractions are mistakes). */
export function checkTtl(ttl: number | bigint, field = "ttl"): bigint {
  return checkInteger(ttl, field, 1);
}
