import { Code, ConnectError } from "@connectrpc/connect";
import { Metadata } from "@grpc/grpc-js";
import { markNotSent } from "../client/core/index.js";
import type { HeadersInit } from "../client/transport/index.js";

/** Headers gRPC itself sets; a caller's copy would clash with grpc-js's own. */
const PROTOCOL_HEADERS = new Set([
  "content-type",
  "te",
  "user-agent",
  "grpc-timeout",
  "grpc-encoding",
  "grpc-accept-encoding",
]);

/**
 * Converts Connect request headers to grpc-js metadata. `-bin` values arrive base64-encoded (Connect's
 * `encodeBinaryHeader`), comma-joined when repeated, and go out as bytes. A header grpc-js refuses
 * (e.g. a value with control characters) fails the call locally with InvalidArgument, marked never sent.
 */
export function metadataFromHeaders(header: HeadersInit | undefined): Metadata {
  const metadata = new Metadata();
  if (header === undefined) return metadata;
  new Headers(header).forEach((value, key) => {
    if (PROTOCOL_HEADERS.has(key)) return;
    try {
      if (key.endsWith("-bin")) {
        for (const part of value.split(",")) metadata.add(key, Buffer.from(part.trim(), "base64"));
      } else {
        metadata.add(key, value);
      }
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      throw markNotSent(
        new ConnectError(
          `invalid request header ${key}: ${message}`,
          Code.InvalidArgument,
          undefined,
          undefined,
          error,
        ),
      );
    }
  });
  return metadata;
}

/** Converts grpc-js metadata (response headers or trailers) to Headers; `-bin` values become base64. */
export function headersFromMetadata(metadata: Metadata): Headers {
  const headers = new Headers();
  for (const [key, values] of Object.entries(metadata.toJSON())) {
    for (const value of values) {
      headers.append(key, typeof value === "string" ? value : value.toString("base64"));
    }
  }
  return headers;
}
