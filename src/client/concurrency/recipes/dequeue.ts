import { done, follow, readAt } from "../../follow/follow.js";
import type { SortTarget } from "../../kv/types.js";
import type { EtcdPort } from "../../port.js";
import { isRetryable, waitEvent } from "../key.js";
import { claimFirstKey } from "./new-key.js";

/** A claim's outcome: the value taken, or none and the revision the queue was empty at. */
type Claimed = { value: string; revision?: undefined } | { value?: undefined; revision: bigint };

/**
 * Takes the first item under `prefix` in `order` (Go's `Dequeue` of `Queue`, by mod revision, and of
 * `PriorityQueue`, by key): deletes it if nobody else did meanwhile, reads again when someone did.
 */
async function claimFirst(
  etcd: EtcdPort,
  prefix: string,
  order: SortTarget,
  signal: AbortSignal,
): Promise<Claimed> {
  for (;;) {
    const res = await etcd.range({ prefix }, { sort: { target: order, order: "ascend" }, limit: 1, signal });
    const kv = await claimFirstKey(etcd, res.kvs, { signal });
    if (kv) return { value: kv.text() };
    // Someone took the one we read and there are more: read again (Go: `resp.More`).
    if (!res.more) return { revision: res.revision };
  }
}

/**
 * Takes the first item under `prefix`, waiting for one to be put when there is none. The first read and
 * claim are outside the follower (their error is the caller's: permission denied...); then the one
 * follower watches the prefix for a put from the empty read on, reads and claims again after each put,
 * and reads again after a broken watch. Rejects with `signal`'s reason once it aborts.
 */
export async function dequeueFirst(
  etcd: EtcdPort,
  prefix: string,
  order: SortTarget,
  signal: AbortSignal,
): Promise<string> {
  const first = await claimFirst(etcd, prefix, order, signal);
  if (first.value !== undefined) return first.value;
  const value = await follow<string>(
    {
      read: async (signal) => {
        const claimed = await claimFirst(etcd, prefix, order, signal);
        return claimed.value !== undefined ? done(claimed.value) : readAt(claimed.revision);
      },
      watch: (from, signal) => waitEvent(etcd, { prefix }, "put", from, signal),
      failed: (err) => {
        if (!isRetryable(err)) throw err;
        return true;
      },
    },
    { signal, from: first.revision + 1n },
  );
  if (value === undefined) throw signal.reason;
  return value;
}
