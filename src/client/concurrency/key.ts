import { ClientClosedError, EtcdError } from "../core/errors.js";
import { checkName } from "../core/validation.js";
import {
  broken,
  done,
  type FollowBroken,
  type FollowMoved,
  follow,
  moved,
  readAt,
} from "../follow/follow.js";
import type { EtcdPort } from "../port.js";
import { WatchClosedError } from "../watch/errors.js";

/** The key a session owns under a recipe prefix: `<prefix>/<lease id in lower-case hex>`, as Go writes it. */
export function sessionKey(prefix: string, leaseId: bigint): string {
  return `${prefix}/${leaseId.toString(16)}`;
}

/**
 * `<prefix>/`: the range holding every contender's key (Go appends the slash in `NewMutex`/`NewElection`).
 * `prefix` must be a non-empty string (else `InvalidArgumentError`, field `prefix`): `undefined` would
 * lock the key `undefined/<lease>`, and `""` the keys `/<lease>` that every unnamed lock shares.
 */
export function recipePrefix(prefix: string): string {
  return `${checkName(prefix, "prefix")}/`;
}

/**
 * True when a failed read or watch of a wait or hold is worth retrying: anything etcd or the connection
 * said (a refused watch, permission denied, etcd down...), not a closed client nor a bug of ours.
 */
export function isRetryable(err: unknown): boolean {
  return err instanceof EtcdError && !(err instanceof ClientClosedError);
}

/**
 * Waits until `range` sees an event of `type` at a revision from `from` on (Go's `waitDelete`, and the
 * recipes' `WaitEvents`/`WaitPrefixEvents`). Only such an event ends the wait (`moved`: the caller reads
 * again): a progress notice or an event of the other type does not (a progress notice may run ahead of
 * events still being replayed on etcd < 3.4.24). A watch that ends with an error is `broken`; one closed
 * cleanly (the client closing) throws a `WatchClosedError`.
 */
export async function waitEvent(
  etcd: EtcdPort,
  range: string | { prefix: string },
  type: "put" | "delete",
  from: bigint,
  signal: AbortSignal,
): Promise<FollowBroken | FollowMoved> {
  const watcher = etcd.watch(range, { startRevision: from, signal });
  try {
    for await (const batch of watcher) {
      for (const event of batch.events) if (event.type === type) return moved;
    }
  } catch (err) {
    return broken(err);
  } finally {
    watcher.close();
  }
  if (signal.aborted) throw signal.reason;
  const what = typeof range === "string" ? range : `${range.prefix}*`;
  throw new WatchClosedError(`the watch waiting for a ${type} of ${what} was closed`);
}

/**
 * Waits until no key of `keys` (one key, or every key under a prefix) has a create revision <=
 * `maxCreateRevision` (any create revision when `undefined`) (Go's `waitDeletes`):
 * it waits for the newest such key to go, then looks again, so a contender in the middle leaving
 * does not let anyone skip the ones before it. Resolves with the revision of the read that found none.
 *
 * Unlike Go, a watch that breaks (refused after a token expiry or a restart, canceled by the server,
 * compacted) or a read that fails does not end the wait: it reads again with backoff (100 ms doubling to
 * 5 s) and watches from that read (the one follower). Only the deletions, `signal` or a closed client end
 * it; the caller races it with the session's loss.
 */
export async function waitDeletes(
  etcd: EtcdPort,
  keys: { key: string } | { prefix: string },
  maxCreateRevision: bigint | undefined,
  signal: AbortSignal,
): Promise<bigint> {
  let last = "";
  const revision = await follow<bigint>(
    {
      read: async (signal) => {
        const res = await etcd.range("key" in keys ? keys.key : keys, {
          maxCreateRevision,
          sort: { target: "create", order: "descend" },
          limit: 1,
          signal,
        });
        const newest = res.kvs[0];
        if (!newest) return done(res.revision);
        last = newest.keyText();
        return readAt(res.revision);
      },
      watch: (from, signal) => waitEvent(etcd, last, "delete", from, signal),
      failed: (err) => {
        if (!isRetryable(err)) throw err;
        return true;
      },
    },
    { signal },
  );
  if (revision === undefined) throw signal.reason;
  return revision;
}
