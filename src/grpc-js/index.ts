/**
 * `etcd-ts/grpc-js`: a Connect transport over `@grpc/grpc-js` (an optional peer dependency; only this
 * subpath loads it), the `etcd:///<service>` resolver and the `etcd_ts` load-balancing policy.
 * @packageDocumentation
 */
export type { EtcdTransportOptions, TransportTlsOptions } from "../client/transport/index.js";
export type { GrpcJsTransportOptions } from "./channel.js";
export {
  ETCD_LB_POLICY,
  type EtcdLoadBalancingConfigJson,
  registerEtcdLoadBalancer,
} from "./etcd-load-balancer.js";
export { type EtcdResolverOptions, registerEtcdResolver } from "./etcd-resolver.js";
export { createGrpcJsTransport, GrpcJsTransport } from "./transport.js";
