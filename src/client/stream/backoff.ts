/** Options of {@link Backoff}: how long to wait before reopening a broken stream. */
export interface BackoffOptions {
  /** First delay, in ms. Default 50. */
  initialMs?: number;
  /** Largest delay, in ms. Default 2000. */
  maxMs?: number;
  /** Growth factor per failure. Default 2. */
  multiplier?: number;
}

/** Exponential backoff with full jitter; `reset()` after a stream proved healthy. */
export class Backoff {
  readonly #initialMs: number;
  readonly #maxMs: number;
  readonly #multiplier: number;
  #attempt = 0;

  constructor(options: BackoffOptions = {}) {
    this.#initialMs = options.initialMs ?? 50;
    this.#maxMs = options.maxMs ?? 2000;
    this.#multiplier = options.multiplier ?? 2;
  }

  /** The next delay in ms (jittered between half and all of the exponential step). */
  next(): number {
    const step = Math.min(this.#maxMs, this.#initialMs * this.#multiplier ** this.#attempt);
    this.#attempt++;
    return step / 2 + Math.random() * (step / 2);
  }

  /** Forgets past failures. */
  reset(): void {
    this.#attempt = 0;
  }
}

/** Sleeps `ms` (timer unref'd); resolves early, without error, when `signal` aborts. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const timer = setTimeout(done, ms);
    timer.unref?.();
    signal?.addEventListener("abort", done, { once: true });
    function done() {
      clearTimeout(timer);
      signal?.removeEventListener("abort", done);
      resolve();
    }
  });
}
