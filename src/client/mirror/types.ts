import type { KeyValue } from "../kv/key-value.js";
import type { EtcdPort } from "../port.js";
import type { WatchEvent } from "../watch/types.js";

/**
 * What a {@link Mirror} uses of its client: the part of the client port it needs (an `Etcd` or a
 * namespace view of one). Not the `Etcd` class, which makes mirrors (`etcd.mirror()`) from a floor above.
 */
export type MirrorSource = Pick<EtcdPort, "watch" | "_scan" | "_attach">;

/** Options of `etcd.mirror(prefix, options)`. */
export interface MirrorOptions {
  /**
   * Keys per request of the bulk read (etcd's Go `mirror.Syncer` reads 1,000); on etcd >= 3.7 only the
   * first request, the rest coming as one `RangeStream` at the same revision. Default 1000.
   */
  pageSize?: number | undefined;
  /**
   * Skip the bulk read and deliver the changes from this revision on (etcdctl's `make-mirror --rev`):
   * for a destination that already holds the prefix as it was at `startRevision - 1`. Default: none (read
   * the prefix first, then follow it from the read's revision + 1).
   */
  startRevision?: number | bigint | undefined;
  /**
   * What happens when the changes to deliver next were compacted away (the mirror fell behind a
   * compaction, or `startRevision` is older than it): `"error"` ends the mirror with a
   * `WatchCompactedError` (etcdctl's `make-mirror` exits with "mvcc: required revision has been
   * compacted"); `"resync"` reads the prefix again at the current revision and delivers it as `base`
   * batches with `resync: true` and a `synced` batch, then follows from there. Default `"error"`.
   */
  onCompacted?: "error" | "resync" | undefined;
  /** Aborting it closes the mirror (its iteration ends cleanly). Default none. */
  signal?: AbortSignal | undefined;
}

/**
 * Key-values of the bulk read, in key order: put them at the destination. Every page of one read is at
 * one revision, which the `synced` batch that ends the read names.
 */
export interface MirrorBase {
  readonly type: "base";
  /** One page of keys. */
  readonly kvs: readonly KeyValue[];
  /**
   * True when this read is not the first (after a compaction with `onCompacted: "resync"`, or after a
   * read that failed part way): keys the destination holds under the prefix that no `base` batch of this
   * read names were deleted meanwhile; the `synced` batch that ends the read says when it is complete.
   */
  readonly resync: boolean;
}

/** The bulk read at `revision` is complete: changes from `revision + 1` follow. */
export interface MirrorSynced {
  readonly type: "synced";
  /** The revision the bulk read was at. */
  readonly revision: bigint;
  /** As on the read's `base` batches: true after a read that was not the first. */
  readonly resync: boolean;
}

/** Changes of the prefix, in revision order (the events of one watch response). */
export interface MirrorChanges {
  readonly type: "changes";
  /** The revision every change up to which has been delivered (the last event's `modRevision`). */
  readonly revision: bigint;
  /** Puts and deletes, as a watch delivers them; several events may share one revision (a txn). */
  readonly events: readonly WatchEvent[];
}

/** What a {@link Mirror} delivers: bulk-read pages, the end of the read, then changes. */
export type MirrorBatch = MirrorBase | MirrorSynced | MirrorChanges;

/**
 * Where a {@link Mirror} is:
 * - `reading`: the bulk read (first, or again after a compaction);
 * - `following`: delivering changes (its watch resumes by itself after a connection break);
 * - `unavailable`: a read failed with etcd unreachable: it reads again with backoff (see the
 *   `unavailable` event);
 * - `closed`: the end.
 */
export type MirrorState = "reading" | "following" | "unavailable" | "closed";

/** Events of a {@link Mirror}. */
export interface MirrorEvents {
  /** The bulk read failed with etcd unreachable; the mirror reads again (100 ms doubling to 5 s, jittered). */
  unavailable: [Error];
  /** The state changed (see {@link MirrorState}); emitted from a microtask. */
  state: [MirrorState];
  /** The mirror ended: `undefined` when this process closed it, else the error. Emitted once. */
  close: [Error | undefined];
}
