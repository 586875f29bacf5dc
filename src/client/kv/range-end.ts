/** The range end that means "every key from `key` on" (etcd's `"\0"`). */
export const FROM_KEY_END: Uint8Array = Uint8Array.of(0);

/**
 * The exclusive end of the range of keys that start with `prefix`: the prefix with its last byte
 * below 0xff incremented and everything after it dropped. A prefix of only 0xff bytes, or the empty
 * prefix, has no such end: then every key from the prefix on matches, which etcd spells `"\0"`.
 */
export function prefixRangeEnd(prefix: Uint8Array): Uint8Array {
  for (let i = prefix.length - 1; i >= 0; i--) {
    const byte = prefix[i]!;
    if (byte < 0xff) {
      const end = prefix.slice(0, i + 1);
      end[i] = byte + 1;
      return end;
    }
  }
  return FROM_KEY_END;
}
