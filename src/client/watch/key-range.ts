import type { WatchOptions } from "./types.js";

/** Bytes of a key given as a string (UTF-8) or as bytes. */
export function keyBytes(key: string | Uint8Array): Uint8Array {
  return typeof key === "string" ? new TextEncoder().encode(key) : key;
}

/**
 * etcd's `range_end` for "every key starting with `prefix`": the prefix with its last byte below 0xff
 * incremented (trailing 0xff bytes dropped); all-0xff or empty means "to the end" (`\0`).
 */
export function prefixEnd(prefix: Uint8Array): Uint8Array {
  for (let i = prefix.length - 1; i >= 0; i--) {
    if (prefix[i]! < 0xff) {
      const end = prefix.slice(0, i + 1);
      end[i]!++;
      return end;
    }
  }
  return new Uint8Array([0]);
}

/** The range end of a single-key watch: empty. Shared (a frozen empty array has nothing to change). */
const SINGLE_KEY = Object.freeze(new Uint8Array(0));

/**
 * A watch's key and range end (from `prefix` / `rangeEnd`, as in {@link WatchOptions}), copied into
 * one small buffer of their own: a key given as a view into a large buffer (a `kv.key` from a
 * response, a pooled `Buffer`) would otherwise keep all of it alive as long as the watch lives, and
 * one buffer costs less heap than two.
 */
export function ownRange(
  key: Uint8Array,
  options: Pick<WatchOptions, "prefix" | "rangeEnd">,
): { key: Uint8Array; rangeEnd: Uint8Array } {
  const end = options.prefix
    ? prefixEnd(key)
    : options.rangeEnd !== undefined
      ? keyBytes(options.rangeEnd)
      : SINGLE_KEY;
  const bytes = new Uint8Array(key.length + end.length);
  bytes.set(key);
  bytes.set(end, key.length);
  return {
    key: bytes.subarray(0, key.length),
    rangeEnd: end.length > 0 ? bytes.subarray(key.length) : SINGLE_KEY,
  };
}
