import type { UnaryCaller } from "../call/caller.js";
import type { Keyspace } from "../namespace/namespace.js";

/** What the server-side lock and election clients share with the `Etcd` that owns them. */
export interface LockServiceContext {
  /** The client's unary call path (deadlines, retries by RETRY_TABLE, auth, typed errors). */
  readonly caller: UnaryCaller;
  /** Where the client's keys live: names go out with its prefix, keys come back without it. */
  readonly keys: Keyspace;
  /** Aborted when the client closes. */
  readonly closed: AbortSignal;
  /**
   * Holds the process while an observation is open; `onClientClose` runs when the client closes first.
   * Returns the release. Throws `ClientClosedError` on a closed client (`Etcd._attach`).
   */
  readonly attach: (onClientClose: () => void) => () => void;
}
