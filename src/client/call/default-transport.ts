import type { ClosableTransport } from "../transport/closable-transport.js";
import { createH2NetTransport } from "../transport/h2-net/index.js";
import { createHttp2Transport } from "../transport/http2/index.js";
import type { DefaultTransportOptions } from "./default-transport-options.js";
import type { ResolvedEndpoint } from "./resolved-endpoint.js";

export type { BuiltinTransport, DefaultTransportOptions } from "./default-transport-options.js";

/**
 * The transport used when the user brings none, on `etcd-ts` (`nodePlatform`): etcd-ts's own
 * gRPC-over-HTTP/2 transport on `node:http2`, one connection to `endpoint` (or, when `options.builtin`
 * says `"h2-net"`, the same transport on etcd-ts's HTTP/2 client over `node:net`). The single place that
 * chooses the Node default (the benchmark in bench/ is what chose it; h2-net stays opt-in until every
 * suite passes on it).
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
