import { constants, type IncomingHttpHeaders } from "node:http2";
import { Code, ConnectError } from "@connectrpc/connect";
import type { DeadlineHandle } from "../../core/deadline-queue.js";
import { markNotSent } from "../../core/failure.js";
import type { Http2Connection } from "./connection.js";
import { describeCause, errorFromResetCode, Http2ConnectionError, unavailableError } from "./errors.js";
import type { GrpcStream } from "./grpc-session.js";
import { headersFromHttp2 } from "./metadata.js";
import { codeFromHttpStatus, readGrpcStatus } from "./trailers.js";

/** What a call saw of its response by the time its stream closed. */
export interface ResponseParts {
  /** Response headers, if any arrived. */
  headers: IncomingHttpHeaders | undefined;
  /** Trailers, if any arrived. */
  trailers: IncomingHttpHeaders | undefined;
  /** The headers ended the stream (a trailers-only response: the status is in the headers). */
  trailersOnly: boolean;
}

/**
 * The result of a finished response: undefined for gRPC status OK, else the error, with the server's
 * message verbatim and headers plus trailers as metadata. `"no-status"` when neither headers nor
 * trailers carried a status (the stream broke); {@link errorOfBrokenStream} then explains why.
 */
export function statusError(parts: ResponseParts): ConnectError | "no-status" | undefined {
  const { headers, trailers } = parts;
  if (headers === undefined) return "no-status";
  const httpStatus = Number(headers[":status"]);
  const source = parts.trailersOnly ? headers : trailers;
  if (httpStatus !== 200) {
    const status = source === undefined ? undefined : readGrpcStatus(source);
    if (status !== undefined && status.code !== 0)
      return new ConnectError(status.message, status.code, metadataOf(parts));
    return new ConnectError(`HTTP status ${httpStatus}`, codeFromHttpStatus(httpStatus), metadataOf(parts));
  }
  if (source === undefined) return "no-status";
  // The common case, checked without allocating.
  if (source["grpc-status"] === "0") return undefined;
  const status = readGrpcStatus(source);
  if (status === undefined) {
    return new ConnectError("protocol error: response without grpc-status", Code.Internal, metadataOf(parts));
  }
  if (status.code === 0) return undefined;
  return new ConnectError(status.message, status.code, metadataOf(parts));
}

/** Headers and trailers of a response, merged, as the metadata of its error. */
export function metadataOf(parts: ResponseParts): Headers {
  return headersFromHttp2(parts.trailers, headersFromHttp2(parts.headers));
}

/**
 * The error of a stream that closed without a gRPC status: the connection broke (Unavailable, marked
 * not-sent when the stream never got an id), or the stream was reset. Streams are opened on ready
 * connections only: a failure to connect reaches calls through `ReadyWaiter.onConnectFailed` instead.
 */
export function errorOfBrokenStream(
  stream: GrpcStream,
  connection: Http2Connection,
  streamError: Error | undefined,
): ConnectError {
  const rstCode = stream.rstCode;
  if (rstCode === constants.NGHTTP2_REFUSED_STREAM) return errorFromResetCode(rstCode);
  const streamLevel =
    (streamError as (Error & { code?: string }) | undefined)?.code === "ERR_HTTP2_STREAM_ERROR";
  if (connection.gone || (streamError !== undefined && !streamLevel)) {
    const cause = connection.failure ?? streamError;
    const notSent = stream.id === undefined;
    // Our own reasons (keepalive, close) already say what happened and where.
    if (cause instanceof Http2ConnectionError) return unavailableError(cause.message, cause, notSent);
    return unavailableError(
      `connection to ${connection.origin} lost: ${describeCause(cause)}`,
      cause,
      notSent,
    );
  }
  if (rstCode !== undefined && rstCode !== constants.NGHTTP2_NO_ERROR)
    return errorFromResetCode(rstCode, streamLevel ? streamError : undefined);
  return new ConnectError("protocol error: stream ended without a gRPC status", Code.Internal);
}

/** The error of a call cancelled through its AbortSignal; a ConnectError reason is passed on as is. */
export function abortError(signal: AbortSignal, notSent: boolean): ConnectError {
  const reason: unknown = signal.reason;
  const error =
    reason instanceof ConnectError
      ? reason
      : new ConnectError("the operation was aborted", Code.Canceled, undefined, undefined, reason);
  return notSent ? markNotSent(error) : error;
}

/**
 * The error of a stream that ended without a gRPC status ({@link errorOfBrokenStream}), unless the call's
 * deadline had already passed: the server ends such a stream itself (etcd resets it with CANCEL at the
 * `grpc-timeout` we sent), and its reset can arrive before our own timer fires on a busy event loop.
 * As in grpc-go, a call past its deadline fails with DeadlineExceeded whatever ended it.
 */
export function errorOfEndedStream(
  stream: GrpcStream,
  connection: Http2Connection,
  streamError: Error | undefined,
  deadline: DeadlineHandle | undefined,
): ConnectError {
  if (deadline !== undefined && performance.now() >= deadline.at)
    return deadlineError(stream.id === undefined);
  return errorOfBrokenStream(stream, connection, streamError);
}

/** The error of a call whose deadline passed on our side. */
export function deadlineError(notSent: boolean): ConnectError {
  const error = new ConnectError("the operation timed out", Code.DeadlineExceeded);
  return notSent ? markNotSent(error) : error;
}

/** The error of a call made on (or cut off by) a closed transport. */
export function closedError(notSent: boolean): ConnectError {
  return unavailableError("the transport is closed", undefined, notSent);
}

/** Wraps an error thrown while opening a stream (bad header value, dead session) as not sent. */
export function openError(cause: unknown): ConnectError {
  if (cause instanceof TypeError) {
    return markNotSent(
      new ConnectError(
        `invalid request: ${cause.message}`,
        Code.InvalidArgument,
        undefined,
        undefined,
        cause,
      ),
    );
  }
  return unavailableError(`could not open a stream: ${describeCause(cause)}`, cause, true);
}
