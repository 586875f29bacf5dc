/** Options of {@link DeadlineMonitor}. */
export interface DeadlineMonitorOptions {
  /** Called once when the deadline passes without a `refresh`. */
  onExpired: () => void;
  /** Clock, for tests. Default `Date.now`. */
  now?: () => number;
}

/**
 * The liveness part of a lease (like nats.js `idleheartbeat_monitor.ts`): it holds one deadline and
 * fires once when the deadline passes. The keepalive protocol only calls `refresh()` on each successful
 * answer; it never runs its own timers for loss detection.
 *
 * deadline = (time the refresh request was *sent*) + granted TTL - safety margin. Counting from the send,
 * not the answer, keeps it earlier than the server's own expiry, whatever the latency.
 */
export class DeadlineMonitor {
  readonly #onExpired: () => void;
  readonly #now: () => number;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #deadline = Number.POSITIVE_INFINITY;
  #fired = false;
  #stopped = false;

  constructor(options: DeadlineMonitorOptions) {
    this.#onExpired = options.onExpired;
    this.#now = options.now ?? Date.now;
  }

  /** The current deadline (ms since epoch); Infinity before the first refresh. */
  get deadline(): number {
    return this.#deadline;
  }

  /** True once the deadline passed (the callback ran). */
  get expired(): boolean {
    return this.#fired;
  }

  /**
   * A refresh sent at `sentAt` succeeded with `ttlMs` granted: the deadline moves to
   * `sentAt + ttlMs - marginMs`, never backwards.
   */
  refresh(sentAt: number, ttlMs: number, marginMs: number): void {
    if (this.#fired || this.#stopped) return;
    const deadline = sentAt + ttlMs - Math.max(0, marginMs);
    if (deadline <= this.#deadline && this.#deadline !== Number.POSITIVE_INFINITY) return;
    this.#deadline = deadline;
    this.#arm();
  }

  /** Stops watching; the callback will not run. */
  stop(): void {
    this.#stopped = true;
    clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  #arm(): void {
    clearTimeout(this.#timer);
    const delay = Math.max(0, this.#deadline - this.#now());
    this.#timer = setTimeout(() => this.#check(), delay);
    this.#timer.unref?.();
  }

  #check(): void {
    if (this.#stopped || this.#fired) return;
    // A timer may fire a little early or the deadline may have moved meanwhile: re-check against the clock.
    if (this.#now() < this.#deadline) {
      this.#arm();
      return;
    }
    this.#fired = true;
    this.#timer = undefined;
    this.#onExpired();
  }
}
