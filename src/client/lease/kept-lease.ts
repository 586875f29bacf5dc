import type { DeadlineHandle, DeadlineTarget } from "../core/deadline-queue.js";
import type { Lease } from "./lease.js";

/** Refreshes fall on a grid of this many ms at most (a thirtieth of the refresh interval for short TTLs). */
const REFRESH_GRID_MS = 100;

/** What a kept lease's timer asks of its keeper when it comes due. */
export interface KeptLeaseOwner {
  /** `kept`'s next refresh or its loss deadline is due (the keeper asks {@link KeptLease.due} which). */
  onDue(kept: KeptLease): void;
}

/**
 * One kept-alive lease's schedule: when to refresh it and when it counts as lost. Pure bookkeeping on
 * the `performance.now()` clock; the keeper puts each lease on one shared {@link DeadlineQueue} at
 * {@link nextAt} instead of two Node timers per lease (10,000 leases made 20,000 timers, re-armed at
 * every refresh).
 *
 * Loss deadline = send time of the last answered refresh + granted TTL − margin: counting from the
 * *send* keeps it before the server's own expiry, whatever the latency. It only moves forward.
 */
export class KeptLease implements DeadlineTarget {
  readonly lease: Lease;
  readonly #owner: KeptLeaseOwner;
  /** When the lease counts as lost; +Infinity before the first refresh. */
  deadline = Number.POSITIVE_INFINITY;
  /** When the next refresh is due; +Infinity while one is in flight. */
  refreshAt = Number.POSITIVE_INFINITY;
  /** Send time of the unanswered keepalive on the current stream. */
  pendingSince: number | undefined;
  /** @internal Its place in the keeper's queue. */
  handle: DeadlineHandle | undefined;

  constructor(lease: Lease, owner: KeptLeaseOwner) {
    this.lease = lease;
    this.#owner = owner;
  }

  /** The earlier of the refresh and the loss deadline: when the keeper's queue should wake it. */
  get nextAt(): number {
    return Math.min(this.deadline, this.refreshAt);
  }

  /**
   * A refresh sent at `sentAt` was answered with `ttlMs` granted at `now`: the deadline moves to
   * `sentAt + ttlMs − marginMs` (never backwards) and the next refresh is due a third of the TTL later,
   * rounded down to a grid of {@link REFRESH_GRID_MS} (less for short TTLs): leases that come due within
   * one step are refreshed by one timer wake-up and one write instead of one each (10,000 leases granted
   * over a second or two came due a few per millisecond).
   */
  refreshed(sentAt: number, ttlMs: number, marginMs: number, now: number): void {
    const deadline = sentAt + ttlMs - Math.max(0, marginMs);
    if (deadline > this.deadline || this.deadline === Number.POSITIVE_INFINITY) this.deadline = deadline;
    const interval = ttlMs / 3;
    const grid = Math.min(REFRESH_GRID_MS, interval / 10);
    this.refreshAt = Math.floor((now + interval) / grid) * grid;
  }

  /** What is due at `now`: the loss (the deadline passed), a refresh, or nothing yet. */
  due(now: number): "lost" | "refresh" | "none" {
    if (now >= this.deadline) return "lost";
    if (now >= this.refreshAt) return "refresh";
    return "none";
  }

  /** @internal DeadlineTarget: the queue woke it. */
  onDeadline(): void {
    this.handle = undefined;
    this.#owner.onDue(this);
  }
}
