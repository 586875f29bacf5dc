import type { Transport } from "@connectrpc/connect";
import { createGatewayTransport } from "../../src/client/transport/gateway/index.js";
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
}

/** Every transport the conformance suite runs against. */
export const transports: TransportFactory[] = [
  { name: "http2", create: (options) => createHttp2Transport(options) },
  { name: "grpc-js", create: (options) => createGrpcJsTransport(options) },
  { name: "connect-node", create: (options) => createConnectNodeTransport(options) },
];

/**
 * The fetch-only transport over etcd's JSON gateway (issue 23), for the conformance files where what they
 * check applies to it: unary calls, their error statuses, auth, and the streams it emulates. It has no
 * HTTP/2 (no TLS options of its own, no keepalive, no gRPC metadata or trailers on the wire).
 */
export const gatewayTransport: TransportFactory = {
  name: "gateway",
  create: (options) => createGatewayTransport({ baseUrl: options.baseUrl }),
};

/** {@link transports} and the gateway transport: the legs of the files where the gateway applies. */
export const transportsWithGateway: TransportFactory[] = [...transports, gatewayTransport];
