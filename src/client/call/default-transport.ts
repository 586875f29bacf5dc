import type { ClosableTransport } from "../transport/closable-transport.js";
import { createHttp2Transport } from "../transport/http2/index.js";
import type { DefaultTransportOptions } from "./default-transport-options.js";
import type { ResolvedEndpoint } from "./resolved-endpoint.js";

/**
 * The transport used when the user brings none, on `etcd-ts` (`nodePlatform`): etcd-ts's own
 * gRPC-over-HTTP/2 transport on `node:http2`, one connection to `endpoint`. The single place that
 * chooses the Node default (the benchmark in bench/ is what chose it).
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
