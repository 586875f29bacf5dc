// TEMP: replaced by the http2 transport at merge. The intended body is:
//   return createHttp2Transport({
//     baseUrl: endpoint.url,
//     tls: endpoint.secure ? endpoint.tls ?? {} : undefined,
//     keepaliveIntervalMs: options.keepaliveIntervalMs,
//     keepaliveTimeoutMs: options.keepaliveTimeoutMs,
//     connectTimeoutMs: options.connectTimeoutMs,
//   });
import { createGrpcTransport, Http2SessionManager } from "@connectrpc/connect-node";
import type { ClosableTransport } from "../options.js";
import type { ResolvedEndpoint } from "./resolved-endpoint.js";

/** Connection settings the default transport honours. */
export interface DefaultTransportOptions {
  /** HTTP/2 PING interval, ms. */
  keepaliveIntervalMs: number;
  /** PING answer timeout, ms. */
  keepaliveTimeoutMs: number;
  /** Connection establishment timeout, ms (not honoured by the temporary connect-node transport). */
  connectTimeoutMs: number;
}

/**
 * The transport used when the user brings none: one HTTP/2 connection to `endpoint`.
 * The single place that chooses the default.
 */
export function createDefaultTransport(
  endpoint: ResolvedEndpoint,
  options: DefaultTransportOptions,
): ClosableTransport {
  const tls = endpoint.tls;
  const sessionManager = new Http2SessionManager(
    endpoint.url,
    {
      pingIntervalMs: options.keepaliveIntervalMs,
      pingTimeoutMs: options.keepaliveTimeoutMs,
      // connect-node 2.2 keeps pinging an idle session after abort() and throws "The session has been
      // destroyed" from a timer; pinging only while streams are open avoids that.
      pingIdleConnection: false,
    },
    endpoint.secure
      ? {
          ca: tls?.ca,
          cert: tls?.cert,
          key: tls?.key,
          servername: tls?.servername,
          rejectUnauthorized: tls?.rejectUnauthorized ?? true,
        }
      : {},
  );
  const transport = createGrpcTransport({ baseUrl: endpoint.url, sessionManager });
  return {
    unary: transport.unary.bind(transport),
    stream: transport.stream.bind(transport),
    close: async () => sessionManager.abort(),
  };
}
