import type { Transport } from "@connectrpc/connect";
import { createGatewayTransport } from "../../src/client/transport/gateway/index.js";
import { createH2NetTransport } from "../../src/client/transport/h2-net/index.js";
import { createHttp2Transport } from "../../src/client/transport/http2/index.js";
import type { TransportTlsOptions } from "../../src/client/transport/transport-options.js";
import { createConnectNodeTransport } from "../../src/connect-node/index.js";
import { createGrpcJsTransport } from "../../src/grpc-js/index.js";

/** What the conformance suite passes to every transport factory. */
export interface TransportFactoryOptions {
  baseUrl: string;
  tls?: TransportTlsOptions;
  keepaliveIntervalMs?: number;
  keepaliveTimeoutMs?: number;
}

/** A transport the suite can close. */
export type ClosableTransport = Transport & { close(): Promise<void> };

/** One transport under test. */
export interface TransportFactory {
  name: string;
  create(options: TransportFactoryOptions): ClosableTransport;
  /** The transport checks connections with HTTP/2 PINGs (`checkConnection`), not Status calls. */
  pings: boolean;
}

/** Every transport the conformance suite runs against. */
export const transports: TransportFactory[] = [
  { name: "http2", create: (options) => createHttp2Transport(options), pings: true },
  { name: "h2-net", create: (options) => createH2NetTransport(options), pings: true },
  { name: "grpc-js", create: (options) => createGrpcJsTransport(options), pings: false },
  { name: "connect-node", create: (options) => createConnectNodeTransport(options), pings: false },
];

/**
 * The fetch-only transport over etcd's JSON gateway (issue 23), for the conformance files where what they
 * check applies to it: unary calls, their error statuses, auth, and the streams it emulates. It has no
 * HTTP/2 (no TLS options of its own, no keepalive, no gRPC metadata or trailers on the wire).
 */
export const gatewayTransport: TransportFactory = {
  name: "gateway",
  create: (options) => createGatewayTransport({ baseUrl: options.baseUrl }),
  pings: false,
};

/** {@link transports} and the gateway transport: the legs of the files where the gateway applies. */
export const transportsWithGateway: TransportFactory[] = [...transports, gatewayTransport];
