import { Code, ConnectError } from "@connectrpc/connect";

/**
 * The one rule for "what does this failure say?": retries (the client's caller, the balanced
 * transport), outlier ejection, the connect-node transport's error codes and the client's error typing
 * (`toEtcdError`) all ask {@link classifyFailure}. It reads any transport's error (etcd-ts' HTTP/2
 * transport, grpc-js, connect-node, a transport of your own) and the client's `EtcdError`s, whose
 * `cause` chain keeps the transport's error.
 */

/**
 * What a failed call says:
 * - `unreachable`: no connection could be made (refused, no route, name not found, connect timeout,
 *   a TLS handshake the transport marked): nothing was sent, and the endpoint is down or unknown.
 * - `unavailable`: the connection was lost under the call (socket, HTTP/2 or TLS error), the server
 *   answered UNAVAILABLE (e.g. "no leader"), or it refused the stream (REFUSED_STREAM, not sent).
 * - `deadline`: the deadline passed (the request may have been sent, see {@link Failure.sent}).
 * - `cancelled`: the caller aborted, or the transport or client was closed.
 * - `auth`: UNAUTHENTICATED (an invalid token, or a token that could not be had).
 * - `refused`: any other status: the server's answer (permission denied, not found, ...), or a local
 *   refusal before sending (a message over the send limit, a header the transport refuses).
 * - `unknown`: UNKNOWN or INTERNAL without any sign of the connection: a stream that broke in a way the
 *   transport could not name, or a server error.
 */
export type FailureKind =
  | "unreachable"
  | "unavailable"
  | "deadline"
  | "cancelled"
  | "auth"
  | "refused"
  | "unknown";

/** A failure classified by {@link classifyFailure}. */
export interface Failure {
  readonly kind: FailureKind;
  /**
   * False when the request provably never left this process (the transport marked it with
   * {@link markNotSent}, or no connection was ever made); true when it may have reached the server.
   */
  readonly sent: boolean;
  /** The gRPC status code the failure has, as the client types it (`unreachable` and `unavailable`: UNAVAILABLE). */
  readonly code: Code;
}

const NOT_SENT = Symbol.for("etcd-ts.requestNotSent");

/**
 * Tags `error` as "the request never left this process" (no connection could be made, or the stream
 * was refused before any byte of the request went out) and returns it. Every transport of ours sets it
 * where it knows; the client retries writes only when it is present.
 */
export function markNotSent<E extends Error>(error: E): E {
  (error as E & { [NOT_SENT]?: true })[NOT_SENT] = true;
  return error;
}

/** True when `error` (or its `cause` chain) carries the {@link markNotSent} mark. */
export function wasNotSent(error: unknown): boolean {
  return someCause(error, (e) => (e as Error & { [NOT_SENT]?: true })[NOT_SENT] === true);
}

/** Error codes of sockets that never connected (or names that never resolved): nothing can have left. */
const NOT_CONNECTED_CODES = new Set([
  "ECONNREFUSED",
  "ENOTFOUND",
  "EHOSTUNREACH",
  "ENETUNREACH",
  "EAI_AGAIN",
]);
/** The same failures as a transport words them in a message only (grpc-js' details). */
const NOT_CONNECTED_MESSAGE = /\bconnect (ECONNREFUSED|ENOTFOUND|EHOSTUNREACH|ENETUNREACH)\b/;

/**
 * True when the `cause` chain shows a connection that was never made: a Node socket error of
 * `connect()` or of the name lookup, or one of their codes, or grpc-js' "connect ECONNREFUSED" text.
 */
function neverConnected(error: unknown): boolean {
  return someCause(error, (e) => {
    const sys = e as Error & { syscall?: unknown; code?: unknown };
    if (sys.syscall === "connect" || sys.syscall === "getaddrinfo") return true;
    if (typeof sys.code === "string" && NOT_CONNECTED_CODES.has(sys.code)) return true;
    return NOT_CONNECTED_MESSAGE.test(e.message);
  });
}

/**
 * True when the `cause` chain holds a local socket, HTTP/2 or TLS error (`ECONNRESET`, `EPIPE`,
 * `ERR_HTTP2_*`, `ERR_SSL_*` such as a client certificate refused after a TLS 1.3 handshake): the
 * connection under the call broke. A status the server sent (a Connect wire error) never is.
 */
function connectionBroke(error: unknown): boolean {
  if (error instanceof ConnectError && error.isWireError) return false;
  return someCause(error, (e) => {
    const code = (e as Error & { code?: unknown }).code;
    return (
      typeof code === "string" &&
      (/^E[A-Z]+$/.test(code) || code.startsWith("ERR_HTTP2_") || code.startsWith("ERR_SSL_"))
    );
  });
}

/**
 * True when the error or its `cause` chain is an HTTP/2 REFUSED_STREAM: as etcd-ts' and connect-node's
 * transports word it, or grpc-js ("Stream refused by server").
 */
function refusedStream(error: unknown): boolean {
  return someCause(
    error,
    (e) => e.message.includes("REFUSED_STREAM") || e.message.includes("Stream refused by server"),
  );
}

/**
 * The gRPC code of `error`: a `ConnectError`'s, an `EtcdError`'s (any error with a numeric gRPC `code`
 * other than a DOM exception's), else what Connect makes of it (an `AbortError` is CANCELED).
 */
function statusCode(error: unknown): Code {
  if (error instanceof ConnectError) return error.code;
  const code = (error as { code?: unknown } | null)?.code;
  if (
    error instanceof Error &&
    !(error instanceof DOMException) &&
    typeof code === "number" &&
    Code[code] !== undefined
  )
    return code as Code;
  return ConnectError.from(error).code;
}

/**
 * Classifies a failed call's error (see {@link FailureKind}). In order: a cancel is a cancel;
 * UNAUTHENTICATED is `auth` (a `getToken` that failed keeps its own cause chain); a connection never made is `unreachable`, whatever code the transport gave it; a deadline is a
 * deadline (also when the transport saw the socket go as it passed); a broken connection or
 * UNAVAILABLE is `unavailable`, except a never-sent UNAVAILABLE that is not a refused stream, which is
 * `unreachable`; UNKNOWN and INTERNAL are `unknown`; the rest `refused`.
 */
export function classifyFailure(error: unknown): Failure {
  const code = statusCode(error);
  const marked = wasNotSent(error);
  if (code === Code.Canceled) return { kind: "cancelled", sent: !marked, code };
  // A token that could not be had may carry its source's connection error: still an auth failure.
  if (code === Code.Unauthenticated) return { kind: "auth", sent: !marked, code };
  if (neverConnected(error)) return { kind: "unreachable", sent: false, code: Code.Unavailable };
  if (code === Code.DeadlineExceeded) return { kind: "deadline", sent: !marked, code };
  if (code === Code.Unavailable || connectionBroke(error)) {
    const kind = marked && !refusedStream(error) ? "unreachable" : "unavailable";
    return { kind, sent: !marked, code: Code.Unavailable };
  }
  if (code === Code.Unknown || code === Code.Internal) return { kind: "unknown", sent: !marked, code };
  return { kind: "refused", sent: !marked, code };
}

/** True for the kinds that say the endpoint could not serve the call: `unreachable`, `unavailable`. */
export function isUnavailableFailure(failure: Failure): boolean {
  return failure.kind === "unreachable" || failure.kind === "unavailable";
}

/** Calls `test` on `error` and its `cause` chain (8 deep), true when it is true for one. */
function someCause(error: unknown, test: (e: Error) => boolean): boolean {
  for (let e: unknown = error, depth = 0; e instanceof Error && depth < 8; e = e.cause, depth++) {
    if (test(e)) return true;
  }
  return false;
}

/**
 * True when `error` says the endpoint could not serve the call ({@link classifyFailure}: `unreachable`
 * or `unavailable`): the status UNAVAILABLE, or a connection refused or lost, whatever code the
 * transport gave it.
 */
export function isUnavailable(error: unknown): boolean {
  return isUnavailableFailure(classifyFailure(error));
}
