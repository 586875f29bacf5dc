import type { Bytes } from "../kv/bytes.js";
import { rangeBounds } from "../kv/requests.js";
import type { KeyRange } from "../kv/types.js";
import type { Namespace } from "../namespace/namespace.js";

/** The range end of a single-key watch: empty. Shared (a frozen empty array has nothing to change). */
const SINGLE_KEY = Object.freeze(new Uint8Array(0));

/**
 * A watch's key and range end, validated and spelled exactly as reads spell them (`rangeBounds`: a key,
 * `{ key, end }`, `{ prefix }` — the empty prefix is every key — or `{ fromKey }`; an empty key is
 * refused), then copied into one small buffer of their own: a key given as a view into a large buffer (a
 * `kv.key` from a response, a pooled `Buffer`) would otherwise keep all of it alive as long as the watch
 * lives. One buffer costs less heap than two, and no views of it: V8 keeps a typed array of up to 64
 * bytes on the heap, without an ArrayBuffer object and off-heap store, until a view or `.buffer` of it is
 * asked for (about 230 bytes less per watch, measured with 10,000 prefix watches). A watch made through a
 * namespace view gets the bounds inside its namespace.
 */
export function ownRange(range: Bytes | KeyRange, namespace?: Namespace): PackedRange {
  const bounds = namespace ? namespace.watchBounds(range) : rangeBounds(range);
  const start = bounds.key;
  const end = bounds.rangeEnd;
  const bytes = new Uint8Array(start.length + end.length);
  bytes.set(start);
  bytes.set(end, start.length);
  return { bytes, split: start.length };
}

/** A key and its range end in one buffer: the key is `bytes[0, split)`, the range end the rest. */
export interface PackedRange {
  readonly bytes: Uint8Array;
  readonly split: number;
}

/** The key of a packed range (a copy: a view would move the buffer off the heap). */
export function packedKey(bytes: Uint8Array, split: number): Uint8Array {
  return bytes.slice(0, split);
}

/** The range end of a packed range (a copy); empty for a single key. */
export function packedRangeEnd(bytes: Uint8Array, split: number): Uint8Array {
  return split === bytes.length ? SINGLE_KEY : bytes.slice(split);
}
