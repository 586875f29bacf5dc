import type { ClosableTransport } from "../transport/closable-transport.js";
import { createH2NetTransport } from "../transport/h2-net/index.js";
import { createHttp2Transport } from "../transport/http2/index.js";
import type { DefaultTransportOptions } from "./default-transport-options.js";
import type { ResolvedEndpoint } from "./resolved-endpoint.js";

export type { BuiltinTransport, DefaultTransportOptions } from "./default-transport-options.js";

/**
 * The transport used when the user brings none, on `etcd-ts` (`nodePlatform`): etcd-ts's own gRPC
 * transport on its own HTTP/2 client over `node:net`/`node:tls` (h2-net), one connection to `endpoint`;
 * or, when `options.builtin` says `"http2"`, the same transport on `node:http2`. The single place that
 * chooses the Node default: h2-net became it once every suite passed on it (issue 25) and the benchmark
 * in bench/ showed it cheaper per call.
 */
export function createDefaultTransport(
  endpoint: ResolvedEndpoint,
  options: DefaultTransportOptions,
): ClosableTransport {
  const create = options.builtin === "http2" ? createHttp2Transport : createH2NetTransport;
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
