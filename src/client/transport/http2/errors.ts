import { constants } from "node:http2";
import { Code, ConnectError } from "@connectrpc/connect";
import { InvalidArgumentError } from "../../core/errors.js";
import { markNotSent } from "../../core/failure.js";

/** Why the transport dropped a connection on its own; carried as the `cause` of the calls' errors. */
export type Http2ConnectionErrorCode = "CONNECT_TIMEOUT" | "KEEPALIVE_TIMEOUT" | "TRANSPORT_CLOSED";

/**
 * A connection the transport gave up on: no connect in time, no keepalive ack in time, or `close()`. Never
 * thrown by itself: it is the `cause` of the UNAVAILABLE error of the calls that were on the connection
 * (an `UnavailableError` through `Etcd`), and its `code` names the reason.
 */
export class Http2ConnectionError extends Error {
  override name = "Http2ConnectionError";
  /** Which of the reasons it was. */
  readonly code: Http2ConnectionErrorCode;

  constructor(code: Http2ConnectionErrorCode, message: string) {
    super(message);
    this.code = code;
  }
}

/** Invalid options given to `createHttp2Transport`: an {@link InvalidArgumentError} naming the option. */
export class Http2TransportOptionsError extends InvalidArgumentError {
  override name = "Http2TransportOptionsError";
}

/**
 * A ConnectError Unavailable for a broken connection; with `notSent` it also carries the mark that the
 * request never left, so writes may be retried safely.
 */
export function unavailableError(message: string, cause: unknown, notSent: boolean): ConnectError {
  const error = new ConnectError(message, Code.Unavailable, undefined, undefined, cause);
  return notSent ? markNotSent(error) : error;
}

/** Describes a low-level error for a message: its code (ECONNREFUSED, ERR_HTTP2_...) and text. */
export function describeCause(cause: unknown): string {
  if (cause === undefined) return "the connection closed";
  if (!(cause instanceof Error)) return String(cause);
  const code = (cause as Error & { code?: unknown }).code;
  return typeof code === "string" && !cause.message.includes(code)
    ? `${code}: ${cause.message}`
    : cause.message;
}

/**
 * Maps the RST_STREAM code of a stream that ended without a gRPC status, per gRPC's PROTOCOL-HTTP2.md
 * ("Errors"): REFUSED_STREAM means the server did not process it (retry-safe), CANCEL is a cancel.
 * `cause` is the stream's own error, when the client reset it (a stream-level protocol error).
 */
export function errorFromResetCode(rstCode: number, cause?: Error): ConnectError {
  const name = resetCodeName(rstCode);
  const error = (message: string, code: Code) =>
    new ConnectError(`${message} (${name})`, code, undefined, undefined, cause);
  switch (rstCode) {
    case constants.NGHTTP2_REFUSED_STREAM:
      return markNotSent(error("stream refused by the server", Code.Unavailable));
    case constants.NGHTTP2_CANCEL:
      return error("stream canceled by the server", Code.Canceled);
    case constants.NGHTTP2_ENHANCE_YOUR_CALM:
      return error("stream reset by the server", Code.ResourceExhausted);
    case constants.NGHTTP2_INADEQUATE_SECURITY:
      return error("stream reset by the server", Code.PermissionDenied);
    default:
      return error("stream reset without a gRPC status", Code.Internal);
  }
}

/** HTTP/2 error code names (RFC 9113, section 7), indexed by code. */
const RESET_CODE_NAMES = [
  "NO_ERROR",
  "PROTOCOL_ERROR",
  "INTERNAL_ERROR",
  "FLOW_CONTROL_ERROR",
  "SETTINGS_TIMEOUT",
  "STREAM_CLOSED",
  "FRAME_SIZE_ERROR",
  "REFUSED_STREAM",
  "CANCEL",
  "COMPRESSION_ERROR",
  "CONNECT_ERROR",
  "ENHANCE_YOUR_CALM",
  "INADEQUATE_SECURITY",
  "HTTP_1_1_REQUIRED",
];

function resetCodeName(rstCode: number): string {
  return RESET_CODE_NAMES[rstCode] ?? `code ${rstCode}`;
}
