import type { OutgoingHttpHeaders } from "node:http2";
import type { DescMethod } from "@bufbuild/protobuf";
import type { HeadersInit } from "../headers-init.js";
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

/** The headers last built for one method, reused while the inputs are the same. */
interface CachedHeaders {
  timeoutMs: number | undefined;
  header: HeadersInit | undefined;
  headers: OutgoingHttpHeaders;
}

/**
 * Reuses the request headers of a method while the deadline and the metadata object are the same:
 * building them (and checking each metadata name and value) costs client CPU on every call. Node's
 * `request()` copies the object it gets, so one object can serve many calls. Metadata is only
 * reused by identity when it is frozen, which is how the `Etcd` client hands over its metadata; a
 * mutable object or `Headers` is read afresh on every call.
 */
export class RequestHeaderCache {
  readonly #userAgent: string;
  readonly #byMethod = new WeakMap<DescMethod, CachedHeaders>();

  constructor(userAgent: string) {
    this.#userAgent = userAgent;
  }

  /** The headers of a call; see {@link buildRequestHeaders}. Do not mutate the result. */
  get(
    method: DescMethod,
    timeoutMs: number | undefined,
    header: HeadersInit | undefined,
  ): OutgoingHttpHeaders {
    const cacheable = header === undefined || Object.isFrozen(header);
    if (!cacheable) return buildRequestHeaders(method, this.#userAgent, timeoutMs, header);
    const cached = this.#byMethod.get(method);
    if (cached !== undefined && cached.timeoutMs === timeoutMs && cached.header === header)
      return cached.headers;
    const headers = buildRequestHeaders(method, this.#userAgent, timeoutMs, header);
    this.#byMethod.set(method, { timeoutMs, header, headers });
    return headers;
  }
}
