import { type Backoff, HEALTHY_WATCH_MS, recheckBackoff } from "../core/backoff.js";
import { sleep } from "../core/signals.js";

/** A step's verdict that the follow is over, with `value` (what {@link follow} resolves with). */
export interface FollowDone<T> {
  readonly kind: "done";
  readonly value: T;
}

/** The read succeeded at store revision `revision`: the watch starts at `revision + 1`. */
export interface FollowRead {
  readonly kind: "read";
  readonly revision: bigint;
}

/** The watch ended with `error`: {@link FollowSteps.failed} decides whether to read again (with backoff). */
export interface FollowBroken {
  readonly kind: "broken";
  readonly error: unknown;
}

/** What was waited for happened: read again at once, and the backoff starts over. */
export interface FollowMoved {
  readonly kind: "moved";
}

/**
 * The three steps of following a key or range, which {@link follow} runs in a loop. Each is called only
 * while `signal` has not aborted; what a step returns after `signal` aborted is not looked at.
 */
export interface FollowSteps<T> {
  /** Reads what is followed: the revision read at, or the end of the follow (e.g. the key is gone). */
  read(signal: AbortSignal): Promise<FollowRead | FollowDone<T>>;
  /** Watches from `from` until the watch ends; resolves with how (never rejects: a failure is `broken`). */
  watch(from: bigint, signal: AbortSignal): Promise<FollowBroken | FollowMoved | FollowDone<T>>;
  /**
   * A read rejected, or a watch broke, with `error`: true to read again after the backoff, false when
   * the follow is over (the step reported the loss itself); it may throw, which rejects {@link follow}.
   */
  failed(error: unknown, during: "read" | "watch"): boolean;
}

/** Options of {@link follow}. */
export interface FollowOptions {
  /** Ends the follow: the sleep, the read and the watch stop and {@link follow} resolves `undefined`. */
  signal: AbortSignal;
  /** Watch from this revision first, without a read (the caller just read or wrote). Default: read first. */
  from?: bigint | undefined;
  /** The backoff between attempts, shared with whoever else retries for the owner. Default {@link recheckBackoff}. */
  backoff?: Backoff | undefined;
  /** A watch that held this long before it broke counts as healthy: no delay, the backoff starts over. Default {@link HEALTHY_WATCH_MS}. */
  healthyMs?: number | undefined;
}

/** The follow is over, with `value`. */
export function done<T>(value: T): FollowDone<T> {
  return { kind: "done", value };
}

/** The read saw the store at `revision`. */
export function readAt(revision: bigint): FollowRead {
  return { kind: "read", revision };
}

/** The watch broke with `error`. */
export function broken(error: unknown): FollowBroken {
  return { kind: "broken", error };
}

/** What was waited for happened: read again now. */
export const moved: FollowMoved = { kind: "moved" };

/**
 * The one loop of etcd-ts that follows a key or range: read it, watch from the read's revision + 1,
 * and when the read fails or the watch breaks, ask `failed`, wait (the backoff: the next step after a
 * failed read or a watch that broke early, none after a watch that held `healthyMs`) and read again.
 * The read is how a follower learns what it missed, so nothing is lost across a break. Used by the
 * range cache, the hold of a lock or leadership, the recipes' `waitDeletes`, a queue's wait for an item,
 * a double barrier's wait for `ready`, and a registration's watch of its key. Resolves with a step's `done` value, `undefined` once `signal` aborted or `failed` said
 * stop; rejects only with what a step threw.
 */
export async function follow<T>(steps: FollowSteps<T>, options: FollowOptions): Promise<T | undefined> {
  const { signal } = options;
  const backoff = options.backoff ?? recheckBackoff();
  const healthyMs = options.healthyMs ?? HEALTHY_WATCH_MS;
  let from = options.from;
  let delay = 0;
  while (!signal.aborted) {
    if (delay > 0) await sleep(delay, signal);
    if (signal.aborted) return undefined;
    if (from === undefined) {
      let read: FollowRead | FollowDone<T>;
      try {
        read = await steps.read(signal);
      } catch (err) {
        if (signal.aborted) return undefined;
        if (!steps.failed(err, "read")) return undefined;
        delay = backoff.next();
        continue;
      }
      if (read.kind === "done") return read.value;
      if (signal.aborted) return undefined;
      from = read.revision + 1n;
    }
    const startedAt = performance.now();
    const ended = await steps.watch(from, signal);
    from = undefined;
    if (signal.aborted) return undefined;
    if (ended.kind === "done") return ended.value;
    if (ended.kind === "moved") {
      backoff.reset();
      delay = 0;
    } else {
      if (!steps.failed(ended.error, "watch")) return undefined;
      delay = backoff.afterRun(startedAt, healthyMs);
    }
  }
  return undefined;
}
