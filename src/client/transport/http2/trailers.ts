import type { IncomingHttpHeaders } from "node:http2";
import { Code } from "@connectrpc/connect";

/** A gRPC status read from trailers (or from the headers of a trailers-only response). */
export interface GrpcStatus {
  /** The gRPC code, 0 for OK; `Code.Unknown` when the server sent something that is not a code. */
  code: Code | 0;
  /** `grpc-message`, percent-decoded; the server's text exactly (etcd's start with "etcdserver: "). */
  message: string;
}

/**
 * Reads `grpc-status` and `grpc-message`; undefined when there is no `grpc-status` at all (the caller then
 * falls back to the HTTP status or the stream's reset code).
 */
export function readGrpcStatus(headers: IncomingHttpHeaders): GrpcStatus | undefined {
  const raw = headers["grpc-status"];
  if (raw === undefined) return undefined;
  const value = Array.isArray(raw) ? raw[0]! : raw;
  const number = value.length > 0 && value.length <= 2 ? Number(value) : Number.NaN;
  const code = Number.isInteger(number) && number >= 0 && number <= 16 ? (number as Code | 0) : Code.Unknown;
  const message = headers["grpc-message"];
  return {
    code,
    message:
      message === undefined ? "" : decodeGrpcMessage(Array.isArray(message) ? message.join(",") : message),
  };
}

/**
 * Percent-decodes a `grpc-message`. The spec asks receivers to be lenient: a malformed escape is kept
 * as it is rather than failing the whole status.
 */
export function decodeGrpcMessage(value: string): string {
  if (!value.includes("%")) return value;
  try {
    return decodeURIComponent(value);
  } catch {
    return value.replace(/(?:%[0-9A-Fa-f]{2})+/g, (run) => {
      try {
        return decodeURIComponent(run);
      } catch {
        return run;
      }
    });
  }
}

/**
 * Maps an HTTP status to a gRPC code for responses without `grpc-status`, per gRPC's
 * http-grpc-status-mapping.md (a 200 without a status is a protocol error, hence Unknown).
 */
export function codeFromHttpStatus(status: number): Code {
  switch (status) {
    case 400:
      return Code.Internal;
    case 401:
      return Code.Unauthenticated;
    case 403:
      return Code.PermissionDenied;
    case 404:
      return Code.Unimplemented;
    case 429:
    case 502:
    case 503:
    case 504:
      return Code.Unavailable;
    default:
      return Code.Unknown;
  }
}
