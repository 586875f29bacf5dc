import { InvalidArgumentError, RequestTooLargeError } from "./errors.js";

/** Rejects an empty key (etcd answers "key is not provided" only after a round trip). */
export function checkKey(key: Uint8Array, field = "key"): Uint8Array {
  if (key.length === 0) throw new InvalidArgumentError(field, "must not be empty");
  return key;
}

/** Default request limit of etcd (`--max-request-bytes`). */
export const DEFAULT_MAX_REQUEST_BYTES = 1.5 * 1024 * 1024;

/** Rejects a request whose key and value alone exceed the server's request limit. */
export function checkRequestSize(key: Uint8Array, value: Uint8Array, maxRequestBytes: number): void {
  if (key.length + value.length > maxRequestBytes) {
    throw new RequestTooLargeError(
      `value: ${value.length} bytes (with a ${key.length}-byte key) exceed the request limit of ${maxRequestBytes} bytes`,
      { field: "value" },
    );
  }
}

/**
 * Shows a wrong number-like input in an error message: strings quoted (`"10"` is not `10`), numbers,
 * bigints, booleans, `null` and `undefined` as they are, objects by their kind only (never their contents).
 */
export function shownInput(value: unknown): string {
  if (typeof value === "string") return JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value);
  if (typeof value === "bigint") return `${value}n`;
  if (value === null || typeof value !== "object") return String(value);
  return Array.isArray(value) ? "an array" : `an object (${value.constructor?.name ?? "no prototype"})`;
}

/** Checks that `value` is an integer >= `min` (numbers or bigints); returns it as a bigint. */
export function checkInteger(value: number | bigint, field: string, min = 0): bigint {
  if (typeof value === "bigint") {
    if (value < BigInt(min)) throw new InvalidArgumentError(field, `must be >= ${min}, got ${value}`);
    return value;
  }
  if (typeof value !== "number" || !Number.isSafeInteger(value))
    throw new InvalidArgumentError(field, `must be an integer, got ${shownInput(value)}`);
  if (value < min) throw new InvalidArgumentError(field, `must be >= ${min}, got ${value}`);
  return BigInt(value);
}

/** Checks an optional number option: finite and >= `min`. */
export function checkNumber(value: number | undefined, field: string, min: number): void {
  if (value === undefined) return;
  if (typeof value !== "number" || !Number.isFinite(value) || value < min)
    throw new InvalidArgumentError(field, `must be a number >= ${min}, got ${shownInput(value)}`);
}

/**
 * Checks an optional `AbortSignal` (anything with a boolean `aborted` and an `addEventListener`, so
 * signals of other realms pass): a JavaScript caller's `{ signal: "x" }` fails here, before the call
 * starts, instead of deep inside it.
 */
export function checkSignal(signal: AbortSignal | undefined, field = "signal"): void {
  if (signal === undefined) return;
  const s = signal as Partial<AbortSignal> | null;
  if (
    s === null ||
    typeof s !== "object" ||
    typeof s.aborted !== "boolean" ||
    typeof s.addEventListener !== "function" ||
    typeof s.removeEventListener !== "function"
  )
    throw new InvalidArgumentError(field, `must be an AbortSignal, got ${shownInput(signal)}`);
}

/** Checks an options argument: an object, or `undefined` when `optional` (the default). */
export function checkOptionsObject(options: unknown, field = "options", optional = true): void {
  if (optional && options === undefined) return;
  if (options === null || typeof options !== "object" || Array.isArray(options))
    throw new InvalidArgumentError(field, `must be an object, got ${shownInput(options)}`);
}

/** Checks a name: a non-empty string (e.g. a service, a lock or an address). Returns it. */
export function checkName(value: string, field: string): string {
  if (typeof value !== "string")
    throw new InvalidArgumentError(field, `must be a string, got ${shownInput(value)}`);
  if (value === "") throw new InvalidArgumentError(field, "must not be empty");
  return value;
}

/**
 * Checks that `value` was made by `type` (e.g. a `Session` for a `Mutex`): `what` says how to get one.
 * A JavaScript caller's `undefined` fails here, naming `field`, not later as a `TypeError`.
 */
export function checkInstance<T>(value: T, type: { readonly prototype: T }, field: string, what: string): T {
  // `type` may have a private constructor (Session): only its prototype chain is looked at.
  if (!(value instanceof (type as unknown as new () => T)))
    throw new InvalidArgumentError(field, `must be ${what}, got ${shownInput(value)}`);
  return value;
}

/** Checks a lease TTL in seconds: a positive integer (etcd rounds nothing; 0 and fractions are mistakes). */
export function checkTtl(ttl: number | bigint, field = "ttl"): bigint {
  return checkInteger(ttl, field, 1);
}
