import { Code } from "@connectrpc/connect";
import { ClientClosedError, ClosedError, CompactedError, EtcdError } from "../core/errors.js";

/**
 * The revision a watch had to resume from was compacted away: events were lost to this watcher for good.
 * The caller decides: read the range again and watch from there (what `onCompacted: "resync"` does), or fail.
 * A {@link CompactedError} (code OutOfRange), so one `instanceof` catches compaction from reads and watches.
 */
export class WatchCompactedError extends CompactedError {
  override name = "WatchCompactedError";
  /** The store's compaction revision: the oldest revision still readable. */
  readonly compactRevision: bigint;
  /** The revision the watch asked to resume from. */
  readonly requestedRevision: bigint | undefined;

  constructor(compactRevision: bigint, requestedRevision: bigint | undefined) {
    super(`watch cannot resume at revision ${requestedRevision ?? "?"}: compacted up to ${compactRevision}`, {
      code: Code.OutOfRange,
    });
    this.compactRevision = compactRevision;
    this.requestedRevision = requestedRevision;
  }
}

/** The server canceled a watch for a reason other than compaction (e.g. permission denied). */
export class WatchCanceledError extends EtcdError {
  override name = "WatchCanceledError";
  /** The server's `cancel_reason`, e.g. `etcdserver: permission denied`. */
  readonly reason: string;

  constructor(reason: string, endpoint?: string) {
    super(`watch canceled by the server${reason ? `: ${reason}` : ""}`, {
      code: /permission denied/.test(reason) ? Code.PermissionDenied : Code.Canceled,
      ...(endpoint !== undefined ? { endpoint } : {}),
    });
    this.reason = reason;
  }
}

/** A watch was asked of a client's watch hub that is closed (with its client). */
export class WatchHubClosedError extends ClientClosedError {
  override name = "WatchHubClosedError";
}

/** A watch was closed (by its consumer, its signal or its client) before what was awaited happened. */
export class WatchClosedError extends ClosedError {
  override name = "WatchClosedError";
  constructor(message = "the watch was closed") {
    super(message);
  }
}
