/**
 * The gRPC-over-HTTP/2 transport: etcd-ts's default, on `node:http2` directly.
 * @packageDocumentation
 */
export { Http2ConnectionError, type Http2ConnectionErrorCode, Http2TransportOptionsError } from "./errors.js";
export { decodeBinaryMetadata, encodeBinaryMetadata } from "./metadata.js";
export type { Http2TlsOptions, Http2TransportOptions, PemInput } from "./options.js";
export { createHttp2Transport, type Http2Transport } from "./transport.js";
