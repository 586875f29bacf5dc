/** gRPC's status code names, by code (OK = 0 ... UNAUTHENTICATED = 16), as semconv spells them. */
const NAMES = [
  "OK",
  "CANCELLED",
  "UNKNOWN",
  "INVALID_ARGUMENT",
  "DEADLINE_EXCEEDED",
  "NOT_FOUND",
  "ALREADY_EXISTS",
  "PERMISSION_DENIED",
  "RESOURCE_EXHAUSTED",
  "FAILED_PRECONDITION",
  "ABORTED",
  "OUT_OF_RANGE",
  "UNIMPLEMENTED",
  "INTERNAL",
  "UNAVAILABLE",
  "DATA_LOSS",
  "UNAUTHENTICATED",
] as const;

/** The name of gRPC status `code` (`"UNAVAILABLE"` for 14); the number as a string for an unknown code. */
export function grpcStatusName(code: number): string {
  return NAMES[code] ?? String(code);
}
