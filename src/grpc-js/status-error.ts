import { Code, ConnectError } from "@connectrpc/connect";
import { status as Status, type StatusObject } from "@grpc/grpc-js";
import { markNotSent } from "../client/core/index.js";
import { headersFromMetadata } from "./metadata.js";

/**
 * grpc-js details that prove the request never reached the server: the picker found no connection
 * (pick_first / round_robin in TRANSIENT_FAILURE, so no stream was created), or the server refused the
 * stream (HTTP/2 REFUSED_STREAM: the server did not process it). "Connection dropped" is not among them:
 * the request may have been delivered before the drop.
 */
const NOT_SENT_DETAILS = [/No connection established/, /^Stream refused by server$/];

/**
 * Converts a final non-OK grpc-js status to a ConnectError with the same code number (Connect's `Code`
 * uses gRPC's numbering), etcd's raw message and the trailers as metadata. When `signal` has aborted the
 * call, the abort reason wins, as in Connect's own transports.
 */
export function connectErrorFromStatus(status: StatusObject, signal?: AbortSignal): ConnectError {
  if (signal?.aborted) return abortError(signal);
  const error = new ConnectError(
    status.details,
    status.code as number as Code,
    headersFromMetadata(status.metadata),
  );
  if (status.code === Status.UNAVAILABLE && NOT_SENT_DETAILS.some((re) => re.test(status.details))) {
    markNotSent(error);
  }
  return error;
}

/** The error a call aborted through its AbortSignal ends with (Code.Canceled unless the reason is a ConnectError). */
export function abortError(signal: AbortSignal): ConnectError {
  return ConnectError.from(signal.reason, Code.Canceled);
}
