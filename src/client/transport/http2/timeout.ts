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
