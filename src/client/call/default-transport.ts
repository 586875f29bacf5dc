import type { ClosableTransport } from "../transport/closable-transport.js";
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
}

/**
 * The transport used when the user brings none: etcd-ts's own gRPC-over-HTTP/2 transport on
 * `node:http2`, one connection to `endpoint`. The single place that chooses the default (the benchmark
 * in bench/ is what chose it).
 */
export function createDefaultTransport(
  endpoint: ResolvedEndpoint,
  options: DefaultTransportOptions,
): ClosableTransport {
  return createHttp2Transport({
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
