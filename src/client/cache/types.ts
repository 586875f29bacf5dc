import type { EtcdPort } from "../port.js";
import type { WatchEvent } from "../watch/types.js";

/**
 * What a {@link RangeCache} uses of its client: the part of the client port (`EtcdPort`) it needs. An
 * `Etcd` and a namespace view are one. Not the `Etcd` class: the client makes caches (`etcd.cache()`),
 * the cache sits on a floor below it (test/structure/floors.ts), and importing the class back would close
 * a circle.
 */
export type CacheSource = Pick<EtcdPort, "range" | "watch" | "requestWatchProgress" | "_scan" | "_attach">;

/** Options of `etcd.cache(range, options)`. */
export interface RangeCacheOptions {
  /**
   * Keys of the first request when the cache reads its range (first, and again after it could not follow
   * etcd), and of every request on servers without RangeStream (etcd < 3.7). The read is at one revision
   * either way, so it is consistent however large the range. Default 1000.
   */
  pageSize?: number | undefined;
  /** Aborting it closes the cache. Default none. */
  signal?: AbortSignal | undefined;
}

/**
 * Where a {@link RangeCache} is:
 * - `connecting`: reading its range, or (re)creating its watch: it may lag etcd;
 * - `live`: its watch is up: it follows every change;
 * - `unavailable`: a read or its watch failed (see the `unavailable` event); it keeps its last content and
 *   retries with backoff;
 * - `closed`: the end.
 */
export type RangeCacheState = "connecting" | "live" | "unavailable" | "closed";

/** What changed in a {@link RangeCache}, in one step: the events of one etcd revision or batch, or of a resync. */
export interface CacheChange {
  /** The cache's revision once these events are applied. */
  readonly revision: bigint;
  /**
   * The changes, as a watch delivers them (`"put"` / `"delete"` with the read API's `KeyValue`), each with
   * `prevKv`, the entry as the cache held it before, when there was one.
   */
  readonly events: readonly WatchEvent[];
  /**
   * True when the cache read its range again (after a compaction or a failure) instead of following each
   * revision: the events are then the differences, in key order, and a delete's `kv.modRevision` is the
   * revision of that read (the real one was not seen).
   */
  readonly resync: boolean;
}

/** Events of a {@link RangeCache}. */
export interface RangeCacheEvents {
  /** The content changed (emitted once the change is applied: reads in the listener see it). */
  change: [CacheChange];
  /**
   * Reading the range or watching it failed (etcd unreachable, permission denied, ...). The cache keeps
   * its content and revision, and reads and watches again with backoff (100 ms doubling to 5 s,
   * jittered; it starts over after a watch that held for 5 s).
   */
  unavailable: [Error];
  /** The state changed (see {@link RangeCacheState}); emitted from a microtask. */
  state: [RangeCacheState];
  /** The cache ended: `undefined` when this process closed it, else the error. Emitted once. */
  close: [Error | undefined];
}

/** Options of {@link RangeCache.range}. */
export interface CacheRangeOptions {
  /** Most keys returned (the first ones in key order); 0 = no limit. Default 0. */
  limit?: number | bigint | undefined;
}

/**
 * Options of a linearizable read of a {@link RangeCache} (`get(key, { linearizable: true })`,
 * `range(range, { linearizable: true })`): the answer reflects every write the cluster acknowledged
 * before the read began, as `etcd.get()` does.
 */
export interface LinearizableReadOptions {
  /** Wait until the cache has seen the cluster's current revision, then answer from memory. */
  linearizable: true;
  /** Aborting it rejects the read with an `AbortedError`. Default none. */
  signal?: AbortSignal | undefined;
  /**
   * Rejects the read with a `DeadlineExceededError` after this long, ms: the revision read and the wait
   * together. Default: the client's `timeoutMs` for the revision read, no limit for the wait.
   */
  timeoutMs?: number | undefined;
}
