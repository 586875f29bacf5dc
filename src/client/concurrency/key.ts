import { Event_EventType } from "../../gen/mvccpb/kv_pb.js";
import type { Etcd } from "../etcd.js";
import { WatchEndedError } from "./errors.js";

/** The key a session owns under a recipe prefix: `<prefix>/<lease id in lower-case hex>`, as Go writes it. */
export function sessionKey(prefix: string, leaseId: bigint): string {
  return `${prefix}/${leaseId.toString(16)}`;
}

/** `<prefix>/`: the range holding every contender's key (Go appends the slash in `NewMutex`/`NewElection`). */
export function recipePrefix(prefix: string): string {
  return `${prefix}/`;
}

/**
 * Waits until `key` is deleted at a revision after `revision` - 1 (Go's `waitDelete`). Only a DELETE
 * event ends the wait: a progress notice or a put does not (a progress notice may run ahead of events
 * still being replayed on etcd < 3.4.24).
 */
export async function waitDelete(
  etcd: Etcd,
  key: string,
  revision: bigint,
  signal: AbortSignal,
): Promise<void> {
  const watcher = etcd.watch(key, { startRevision: revision, signal });
  try {
    for await (const batch of watcher) {
      for (const event of batch.events) if (event.type === Event_EventType.DELETE) return;
    }
  } finally {
    watcher.close();
  }
  if (signal.aborted) throw signal.reason;
  throw new WatchEndedError(key);
}

/**
 * Waits until no key under `prefix` has a create revision <= `maxCreateRevision` (Go's `waitDeletes`):
 * it waits for the newest such key to go, then looks again, so a contender in the middle leaving
 * does not let anyone skip the ones before it. Resolves with the revision of the read that found none.
 */
export async function waitDeletes(
  etcd: Etcd,
  prefix: string,
  maxCreateRevision: bigint,
  signal: AbortSignal,
): Promise<bigint> {
  for (;;) {
    const res = await etcd.range(
      { prefix },
      { maxCreateRevision, sort: { target: "create", order: "descend" }, limit: 1, signal },
    );
    const last = res.kvs[0];
    if (!last) return res.revision;
    await waitDelete(etcd, last.keyText(), res.revision, signal);
  }
}
