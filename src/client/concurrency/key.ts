import { HEALTHY_WATCH_MS, recheckBackoff, sleep } from "../core/backoff.js";
import { ClientClosedError, EtcdError } from "../core/errors.js";
import { checkName } from "../core/validation.js";
import type { Etcd } from "../etcd.js";
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
 * Waits until `key` is deleted at a revision after `revision` - 1 (Go's `waitDelete`). Only a DELETE
 * event ends the wait: a progress notice or a put does not (a progress notice may run ahead of events
 * still being replayed on etcd < 3.4.24). Resolves `"deleted"`, or `"broken"` when the watch ended with
 * a retryable error (refused, canceled by the server, compacted): the caller reads again.
 */
async function waitDelete(
  etcd: Etcd,
  key: string,
  revision: bigint,
  signal: AbortSignal,
): Promise<"deleted" | "broken"> {
  const watcher = etcd.watch(key, { startRevision: revision, signal });
  try {
    for await (const batch of watcher) {
      for (const event of batch.events) if (event.type === "delete") return "deleted";
    }
  } catch (err) {
    if (signal.aborted) throw signal.reason;
    if (isRetryable(err)) return "broken";
    throw err;
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
 * 5 s) and watches from that read. Only the deletions, `signal` or a closed client end it; the caller
 * races it with the session's loss.
 */
export async function waitDeletes(
  etcd: Etcd,
  prefix: string,
  maxCreateRevision: bigint,
  signal: AbortSignal,
): Promise<bigint> {
  const backoff = recheckBackoff();
  let delay = 0;
  for (;;) {
    if (delay > 0) await sleep(delay, signal);
    if (signal.aborted) throw signal.reason;
    let res: Awaited<ReturnType<Etcd["range"]>>;
    try {
      res = await etcd.range(
        { prefix },
        { maxCreateRevision, sort: { target: "create", order: "descend" }, limit: 1, signal },
      );
    } catch (err) {
      if (signal.aborted) throw signal.reason;
      if (!isRetryable(err)) throw err;
      delay = backoff.next();
      continue;
    }
    const last = res.kvs[0];
    if (!last) return res.revision;
    const startedAt = performance.now();
    const outcome = await waitDelete(etcd, last.keyText(), res.revision, signal);
    if (outcome === "deleted") {
      backoff.reset();
      delay = 0;
    } else delay = backoff.afterRun(startedAt, HEALTHY_WATCH_MS);
  }
}
