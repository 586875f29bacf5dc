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
 * lives, and one buffer costs less heap than two. A watch made through a namespace view gets the bounds
 * inside its namespace.
 */
export function ownRange(
  range: Bytes | KeyRange,
  namespace?: Namespace,
): { key: Uint8Array; rangeEnd: Uint8Array } {
  const bounds = namespace ? namespace.watchBounds(range) : rangeBounds(range);
  const start = bounds.key;
  const end = bounds.rangeEnd;
  const bytes = new Uint8Array(start.length + end.length);
  bytes.set(start);
  bytes.set(end, start.length);
  return {
    key: bytes.subarray(0, start.length),
    rangeEnd: end.length > 0 ? bytes.subarray(start.length) : SINGLE_KEY,
  };
}
