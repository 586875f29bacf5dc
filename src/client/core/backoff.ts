/** Shape of a retry or reconnect backoff. */
export interface BackoffOptions {
  /** Delay before the first retry, in ms. */
  initialMs: number;
  /** Upper bound of any delay, in ms. */
  maxMs: number;
}

/**
 * Delay before retry number `attempt` (1-based): exponential growth capped at `maxMs`, with "equal
 * jitter" (half fixed, half random) so that many clients retrying at once spread out but never retry
 * instantly.
 */
export function backoffDelay(attempt: number, options: BackoffOptions, random: () => number = Math.random) {
  const exp = Math.min(options.maxMs, options.initialMs * 2 ** Math.max(0, attempt - 1));
  return exp / 2 + random() * (exp / 2);
}

/**
 * The same backoff with its attempt count kept: `next()` after each failure, `reset()` once the thing
 * retried proved healthy. The one backoff of etcd-ts: unary retries use {@link backoffDelay} directly,
 * streams, registrations and discoveries a `Backoff` each.
 */
export class Backoff {
  readonly #options: BackoffOptions;
  #attempt = 0;

  constructor(options: BackoffOptions) {
    this.#options = options;
  }

  /** The delay before the next attempt, in ms. */
  next(): number {
    return backoffDelay(++this.#attempt, this.#options);
  }

  /** Forgets past failures. */
  reset(): void {
    this.#attempt = 0;
  }

  /**
   * The delay after something that started at `startedAt` (`performance.now()`) failed: none, and the
   * backoff starts over, when it had held for `healthyMs`; else the next step. So a watch or a
   * registration that keeps failing at once backs off, and one that failed after a good run retries now.
   */
  afterRun(startedAt: number, healthyMs: number): number {
    if (performance.now() - startedAt >= healthyMs) {
      this.reset();
      return 0;
    }
    return this.next();
  }
}

/** A watch that held this long counts as healthy: the backoff of the next failure starts over. */
export const HEALTHY_WATCH_MS = 5000;

/**
 * The backoff of code that reads a key or prefix again and watches it anew when its watch broke (the
 * recipes' waits and holds, discovery): 100 ms doubling to 5 s, jittered.
 */
export function recheckBackoff(): Backoff {
  return new Backoff({ initialMs: 100, maxMs: 5000 });
}
