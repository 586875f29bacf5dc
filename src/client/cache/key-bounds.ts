import type { Bytes } from "../kv/bytes.js";
import { rangeBounds } from "../kv/requests.js";
import type { KeyRange } from "../kv/types.js";
import { toByteString } from "./byte-string.js";

/** A key or range as byte strings: the keys `k` with `start <= k < end`; no `end` means no upper bound. */
export interface ByteRange {
  readonly start: string;
  readonly end: string | undefined;
}

/**
 * A key or range, spelled as reads spell it (`"key"`, `{ prefix }`, `{ key, end }`, `{ fromKey }`) and
 * validated by the same code (`rangeBounds`), as byte strings. One key `k` is `[k, k + "\0")`; etcd's
 * range end `"\0"` (every key from the start on) is no end.
 */
export function byteRange(range: Bytes | KeyRange): ByteRange {
  const { key, rangeEnd } = rangeBounds(range);
  const start = toByteString(key);
  if (rangeEnd.length === 0) return { start, end: `${start}\0` };
  if (rangeEnd.length === 1 && rangeEnd[0] === 0) return { start, end: undefined };
  return { start, end: toByteString(rangeEnd) };
}

/** True when every key of `inner` is in `outer`. */
export function covers(outer: ByteRange, inner: ByteRange): boolean {
  if (inner.start < outer.start) return false;
  if (outer.end === undefined) return true;
  return inner.end !== undefined && inner.end <= outer.end;
}

/** True when `key` (a byte string) is in `range`. */
export function holds(range: ByteRange, key: string): boolean {
  return key >= range.start && (range.end === undefined || key < range.end);
}
