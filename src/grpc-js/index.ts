/**
 * `etcd-ts/grpc-js`: a Connect transport over `@grpc/grpc-js` (an optional peer dependency; only this
 * subpath loads it).
 * @packageDocumentation
 */
export type { EtcdTransportOptions, TransportTlsOptions } from "../client/transport/index.js";
export type { GrpcJsTransportOptions } from "./channel.js";
export { type EtcdResolverOptions, registerEtcdResolver } from "./etcd-resolver.js";
export { createGrpcJsTransport, GrpcJsTransport } from "./transport.js";
