import type { Event } from "../../gen/mvccpb/kv_pb.js";

/**
 * The resume rule: which revision a watch asks for when it is (re)created. `next` is the first revision
 * the consumer has NOT seen yet; undefined means "from now" (nothing delivered, no start revision given).
 *
 * - create request: `start_revision = next ?? 0` (0 = the server's "now").
 * - `created` answer of a "now" watch: the server watches from `header.revision + 1` (etcd's
 *   `rev = wsrev + 1`), so `next = header.revision + 1`. (Go's client keeps `header.revision`, which can
 *   replay one event older than the watch; we do not.)
 * - answer with events: `next = last event's mod_revision + 1`.
 * - progress notice (no events): `next` does NOT move. On etcd < 3.4.24 / 3.5.8 (ours is 3.4.23) a
 *   requested progress notice can overtake events still being replayed (etcd issue 15220); moving past
 *   the last delivered event on it would lose those events on the next resume.
 */
export function createStartRevision(next: bigint | undefined): bigint {
  return next ?? 0n;
}

/** `next` after the `created` answer whose header carries `headerRevision`. */
export function nextAfterCreated(next: bigint | undefined, headerRevision: bigint): bigint {
  return next ?? headerRevision + 1n;
}

/** `next` after delivering `events` (unchanged when there are none). */
export function nextAfterEvents(next: bigint | undefined, events: readonly Event[]): bigint | undefined {
  const last = events[events.length - 1];
  return last?.kv ? last.kv.modRevision + 1n : next;
}

/**
 * Drops events older than `next`: a resumed watch must never hand the consumer a revision twice, even if
 * a server replays from an earlier point than asked.
 */
export function dropSeen(events: readonly Event[], next: bigint | undefined): Event[] {
  if (next === undefined) return [...events];
  return events.filter((e) => (e.kv?.modRevision ?? 0n) >= next);
}
