/** The gRPC spec allows at most eight digits in a `grpc-timeout` value. */
const MAX_DIGITS = 99_999_999;

/**
 * Encodes a deadline for the `grpc-timeout` request header, e.g. `100m` for 100 ms. Picks the finest unit
 * that fits the eight-digit limit, rounding up so the server never gives up before we do.
 * @throws RangeError when `ms` is negative or not finite.
 */
export function encodeGrpcTimeout(ms: number): string {
  if (!Number.isFinite(ms) || ms < 0) throw new RangeError(`timeout must be a finite number >= 0, got ${ms}`);
  const millis = Math.ceil(ms);
  if (millis <= MAX_DIGITS) return `${millis}m`;
  const seconds = Math.ceil(millis / 1000);
  if (seconds <= MAX_DIGITS) return `${seconds}S`;
  const minutes = Math.ceil(seconds / 60);
  if (minutes <= MAX_DIGITS) return `${minutes}M`;
  return `${Math.min(Math.ceil(minutes / 60), MAX_DIGITS)}H`;
}

/** What a deadline timer calls when it fires; implemented by the calls, so no closure is made per call. */
export interface DeadlineTarget {
  /** Cancels the call with DeadlineExceeded. */
  onDeadline(): void;
}

/**
 * Starts the local deadline timer of a call. The server enforces `grpc-timeout` too, but a frozen or
 * unreachable server never answers, so the client must give up on its own. The timer is unref'd: a
 * pending deadline alone does not keep the process alive (the call's stream does, while it runs).
 */
export function startDeadline(target: DeadlineTarget, ms: number): NodeJS.Timeout {
  const timer = setTimeout(fireDeadline, ms, target);
  timer.unref();
  return timer;
}

function fireDeadline(target: DeadlineTarget): void {
  target.onDeadline();
}
