import type { OutgoingHttpHeaders } from "node:http2";
import type { DescMethod } from "@bufbuild/protobuf";
import { appendUserMetadata } from "./metadata.js";
import { encodeGrpcTimeout } from "./timeout.js";

/**
 * The HTTP/2 request headers of a gRPC call. `:scheme` and `:authority` come from the session.
 * The user's metadata cannot replace the protocol's own headers.
 */
export function buildRequestHeaders(
  method: DescMethod,
  userAgent: string,
  timeoutMs: number | undefined,
  header: HeadersInit | undefined,
): OutgoingHttpHeaders {
  const headers: OutgoingHttpHeaders = {
    ":method": "POST",
    ":path": `/${method.parent.typeName}/${method.name}`,
    "content-type": "application/grpc+proto",
    te: "trailers",
    "user-agent": userAgent,
  };
  if (timeoutMs !== undefined) headers["grpc-timeout"] = encodeGrpcTimeout(timeoutMs);
  if (header !== undefined) appendUserMetadata(headers, header);
  return headers;
}
