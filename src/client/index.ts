/**
 * The client layer's public face: everything `import ... from "etcd-ts"` offers. What every runtime
 * shares is in `portable.ts`; Node's own parts are here: the `Etcd` on the Node platform and the HTTP/2
 * transports (h2-net on `node:net`, the default, and `node:http2`).
 * @packageDocumentation
 */

export { Etcd } from "./node-etcd.js";
export * from "./portable.js";
export { createH2NetTransport, type H2NetErrorCode, H2NetProtocolError } from "./transport/h2-net/index.js";
export {
  createHttp2Transport,
  decodeBinaryMetadata,
  encodeBinaryMetadata,
  Http2ConnectionError,
  type Http2ConnectionErrorCode,
  type Http2TlsOptions,
  type Http2Transport,
  type Http2TransportOptions,
  Http2TransportOptionsError,
  type PemInput,
} from "./transport/http2/index.js";
