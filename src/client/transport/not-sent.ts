/**
 * Marks errors of calls that provably never reached the server (no connection could be made, or the
 * stream was refused before any byte of the request went out). The client layer retries writes only
 * when this mark is present; every transport of ours sets it where it knows.
 */
const NOT_SENT = Symbol.for("etcd-ts.requestNotSent");

/** Tags `error` as "the request never left this process" and returns it. */
export function markNotSent<E extends Error>(error: E): E {
  (error as E & { [NOT_SENT]?: true })[NOT_SENT] = true;
  return error;
}

/** True when `error` (or its `cause` chain) carries the "request never left" mark. */
export function wasNotSent(error: unknown): boolean {
  for (let e: unknown = error, depth = 0; e instanceof Error && depth < 8; e = e.cause, depth++) {
    if ((e as Error & { [NOT_SENT]?: true })[NOT_SENT] === true) return true;
  }
  return false;
}
