// rebased onto EtcdError at merge

/**
 * The revision a watch had to resume from was compacted away: events were lost to this watcher for good.
 * The caller decides: read the range again and watch from there (what `onCompacted: "resync"` does), or fail.
 */
export class WatchCompactedError extends Error {
  override name = "WatchCompactedError";
  readonly code = "compacted";
  /** The store's compaction revision: the oldest revision still readable. */
  readonly compactRevision: bigint;
  /** The revision the watch asked to resume from. */
  readonly requestedRevision: bigint | undefined;

  constructor(compactRevision: bigint, requestedRevision: bigint | undefined) {
    super(`watch cannot resume at revision ${requestedRevision ?? "?"}: compacted up to ${compactRevision}`);
    this.compactRevision = compactRevision;
    this.requestedRevision = requestedRevision;
  }
}

/** The server canceled a watch for a reason other than compaction (e.g. permission denied). */
export class WatchCanceledError extends Error {
  override name = "WatchCanceledError";
  readonly code = "canceled";
  /** The server's `cancel_reason`, e.g. `etcdserver: permission denied`. */
  readonly reason: string;

  constructor(reason: string) {
    super(`watch canceled by the server${reason ? `: ${reason}` : ""}`);
    this.reason = reason;
  }
}

/** A watch was asked of a {@link WatchHub} that is closed. */
export class WatchHubClosedError extends Error {
  override name = "WatchHubClosedError";
  readonly code = "closed";
}
