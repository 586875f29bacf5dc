import type { KeyValue } from "../kv/key-value.js";

/** Server-side event filters of a watch. */
export type WatchFilter = "noPut" | "noDelete";

/** Options of {@link Etcd.watch}. */
export interface WatchOptions {
  /** First revision to deliver (>= 1). Default: from now (the store's revision at creation + 1). */
  startRevision?: number | bigint | undefined;
  /** Ask for each event's previous key-value. Default false. */
  prevKv?: boolean | undefined;
  /** Events the server should not send. Default none. */
  filters?: WatchFilter[] | undefined;
  /** Ask the server for periodic progress notices (delivered as `progress` batches). Default false. */
  progressNotify?: boolean | undefined;
  /** Let the server split large responses (reassembled here before delivery). Default false. */
  fragment?: boolean | undefined;
  /**
   * What to do when the revision to resume from was compacted: `"error"` ends the watch with a
   * {@link WatchCompactedError}; `"resync"` reads the range at the current revision, delivers it as a
   * `resync` batch and goes on watching from there. Default `"error"`.
   */
  onCompacted?: "error" | "resync" | undefined;
  /** Buffered events above which this watch is paused on the server. Default: the hub's `maxBufferedEvents`. */
  maxBufferedEvents?: number | undefined;
  /** Aborting it closes the watch. */
  signal?: AbortSignal | undefined;
}

/**
 * One change of a watched key, in the read API's shapes: the same {@link KeyValue} class `get()` and
 * `range()` return.
 */
export interface WatchEvent {
  /** `put` (the key was created or changed) or `delete`. */
  readonly type: "put" | "delete";
  /**
   * The key after the change. For a delete: the key, with `modRevision` the delete's revision and an
   * empty value.
   */
  readonly kv: KeyValue;
  /** The key before the change, when the watch asked for `prevKv` and the key existed. */
  readonly prevKv?: KeyValue | undefined;
}

/** What a watch delivers: the events of one response, in revision order. */
export interface WatchBatch {
  /** Header revision of the response (the store's revision when it was sent). */
  readonly revision: bigint;
  /** Events, each at most once per watch, in order. Empty for progress and resync batches. */
  readonly events: readonly WatchEvent[];
  /**
   * A progress notice: nothing changed up to `revision` for this watch. On etcd < 3.4.24 a *requested*
   * notice can arrive before older events still being replayed (see docs/leases-and-watches.md).
   */
  readonly progress?: boolean | undefined;
  /**
   * On the notice that answers `requestWatchProgress()`: true when the server promises that every event
   * up to `revision` was delivered before it, to every watch on the stream (etcd 3.4.24+, 3.5.8+, 3.6,
   * 3.7, which hold the notice back, or drop the request, while a watch catches up), so `revision` is safe
   * to move a mirror of the range to. Absent on older servers (etcd issue 15220), when the server's
   * version could not be learned, and on the periodic notices of `progressNotify`.
   */
  readonly progressComplete?: boolean | undefined;
  /** After a compaction with `onCompacted: "resync"`: the whole range as read at `revision`. */
  readonly resync?: readonly KeyValue[] | undefined;
}

/**
 * Where a watch is (see docs/leases-and-watches.md):
 * `creating` → `active` → (`paused` | `disconnected` | `resyncing`) → `creating` … → `closed`.
 */
export type WatcherState = "disconnected" | "creating" | "active" | "paused" | "resyncing" | "closed";
