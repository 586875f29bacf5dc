/** Shape of the retry backoff. */
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
