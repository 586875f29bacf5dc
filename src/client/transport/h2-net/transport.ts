import { type Http2TransportOptions, resolveHttp2Options } from "../http2/options.js";
import { createGrpcTransport, type Http2Transport } from "../http2/transport.js";
import { h2NetConnector } from "./connect.js";

/**
 * Creates the h2-net transport: gRPC over etcd-ts's own HTTP/2 client on `node:net` and `node:tls`
 * (ALPN `h2`) instead of `node:http2`. The same options, errors and behaviour as `createHttp2Transport`
 * (TLS and mTLS, `unix://` endpoints, keepalive PINGs, connect timeout, message size limits, the
 * not-sent mark after a GOAWAY); see docs/performance.md for what it implements of HTTP/2. `new Etcd()`
 * uses it by default; build it yourself to wrap it or to pass it to other Connect clients. A server that
 * does not acknowledge the client's SETTINGS within `connectTimeoutMs` loses the connection
 * (`H2NetProtocolError` `SETTINGS_TIMEOUT`).
 * @throws Http2TransportOptionsError for invalid options.
 */
export function createH2NetTransport(options: Http2TransportOptions): Http2Transport {
  return createGrpcTransport(options, h2NetConnector(resolveHttp2Options(options).connectTimeoutMs));
}
