import type { ClosableTransport } from "../transport/closable-transport.js";
import { createH2NetTransport } from "../transport/h2-net/index.js";
import { createHttp2Transport } from "../transport/http2/index.js";
import type { ResolvedEndpoint } from "./resolved-endpoint.js";

/** Connection settings the default transport honours. */
export interface DefaultTransportOptions {
  /** HTTP/2 PING interval while calls are in flight, ms. */
  keepaliveIntervalMs: number;
  /** PING answer timeout, ms. */
  keepaliveTimeoutMs: number;
  /** Connection establishment timeout (TCP, the TLS handshake for https, the server's HTTP/2 SETTINGS), ms. */
  connectTimeoutMs: number;
  /** Largest request message the transport sends, bytes. Default: the transport's (2 MiB). */
  maxSendMessageBytes?: number | undefined;
  /**
   * Which built-in transport: `"http2"` (`node:http2`, the default) or `"h2-net"` (etcd-ts's own HTTP/2
   * client on `node:net`). Both take the same options and behave the same.
   */
  builtin?: BuiltinTransport | undefined;
}

/** The built-in transports the client option `transport` can name. */
export type BuiltinTransport = "http2" | "h2-net";

/**
 * The transport used when the user brings none: etcd-ts's own gRPC-over-HTTP/2 transport on
 * `node:http2`, one connection to `endpoint` (or, when `options.builtin` says `"h2-net"`, the same
 * transport on etcd-ts's HTTP/2 client over `node:net`). The single place that chooses the default (the
 * benchmark in bench/ is what chose it; h2-net stays opt-in until every suite passes on it).
 */
export function createDefaultTransport(
  endpoint: ResolvedEndpoint,
  options: DefaultTransportOptions,
): ClosableTransport {
  const create = options.builtin === "h2-net" ? createH2NetTransport : createHttp2Transport;
  return create({
    baseUrl: endpoint.url,
    ...(endpoint.secure ? { tls: endpoint.tls ?? {} } : {}),
    keepaliveIntervalMs: options.keepaliveIntervalMs,
    keepaliveTimeoutMs: options.keepaliveTimeoutMs,
    connectTimeoutMs: options.connectTimeoutMs,
    ...(options.maxSendMessageBytes !== undefined
      ? { maxSendMessageBytes: options.maxSendMessageBytes }
      : {}),
  });
}
