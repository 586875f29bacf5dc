/**
 * Range caches: a consistent in-memory mirror of a key range, read at one revision and kept up to date
 * by a watch (`etcd.cache(range)`).
 * @packageDocumentation
 */
export { RangeCacheClosedError } from "./errors.js";
export { RangeCache, type WaitForRevisionOptions } from "./range-cache.js";
export type {
  CacheChange,
  CacheRangeOptions,
  LinearizableReadOptions,
  RangeCacheEvents,
  RangeCacheOptions,
  RangeCacheState,
} from "./types.js";
