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
