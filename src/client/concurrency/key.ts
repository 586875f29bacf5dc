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
 * Waits until `key` is deleted at a revision from `from` on (Go's `waitDelete`). Only a DELETE event
 * ends the wait (`moved`: the caller reads again): a progress notice or a put does not (a progress
 * notice may run ahead of events still being replayed on etcd < 3.4.24). A watch that ends with an
 * error is `broken`; one closed cleanly (the client closing) throws a `WatchClosedError`.
 */
async function waitDelete(
  etcd: EtcdPort,
  key: string,
  from: bigint,
  signal: AbortSignal,
): Promise<FollowBroken | FollowMoved> {
  const watcher = etcd.watch(key, { startRevision: from, signal });
  try {
    for await (const batch of watcher) {
      for (const event of batch.events) if (event.type === "delete") return moved;
    }
  } catch (err) {
    return broken(err);
  } finally {
    watcher.close();
  }
  if (signal.aborted) throw signal.reason;
  throw new WatchClosedError(`the watch waiting for the deletion of ${key} was closed`);
}

/**
 * Waits until no key under `prefix` has a create revision <= `maxCreateRevision` (Go's `waitDeletes`):
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
  prefix: string,
  maxCreateRevision: bigint,
  signal: AbortSignal,
): Promise<bigint> {
  let last = "";
  const revision = await follow<bigint>(
    {
      read: async (signal) => {
        const res = await etcd.range(
          { prefix },
          { maxCreateRevision, sort: { target: "create", order: "descend" }, limit: 1, signal },
        );
        const newest = res.kvs[0];
        if (!newest) return done(res.revision);
        last = newest.keyText();
        return readAt(res.revision);
      },
      watch: (from, signal) => waitDelete(etcd, last, from, signal),
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
