/**
 * The h2-net transport: gRPC over etcd-ts's own HTTP/2 client on `node:net` / `node:tls`.
 * @packageDocumentation
 */
export { type H2NetErrorCode, H2NetProtocolError } from "./errors.js";
export { createH2NetTransport } from "./transport.js";
