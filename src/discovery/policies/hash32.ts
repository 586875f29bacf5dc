/**
 * 32-bit string hashing for consistent hashing: FNV-1a over the UTF-16 code units, finished with
 * MurmurHash3's `fmix32` so that strings differing in one character land far apart on the ring. Not
 * cryptographic; the same string hashes the same in every process (clients sharing a ring agree).
 */
export function hash32(text: string, seed = 0x811c9dc5): number {
  let h = seed;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return fmix32(h);
}

/** MurmurHash3's finalizer: a bijection on 32-bit integers with full avalanche. */
export function fmix32(value: number): number {
  let h = value;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}
