/**
 * `etcd-ts/web`: the same `Etcd` client for browsers and edge runtimes (Cloudflare Workers, Vercel's edge
 * runtime, Deno Deploy), and for Node, Bun and Deno when they should use it, over etcd's JSON gateway
 * with `fetch`. Nothing on this entry's path imports a `node:` module. It offers what `etcd-ts` offers
 * except the HTTP/2 transport, plus discovery's read side and `register()` (docs/web.md, "Using
 * etcd-ts/web").
 * @packageDocumentation
 */

export * from "../client/portable.js";
export { Etcd } from "../client/web-etcd.js";
export type { DecodeResult, InstanceCodec } from "../discovery/codec.js";
export {
  type DiscoverOptions,
  Discovery,
  type DiscoveryEvents,
  type DiscoveryState,
  type DiscoveryWarning,
  discover,
  type InstanceChange,
} from "../discovery/discovery.js";
export { endpointOf, GRPC_PROTOCOL, type InstanceEndpoints } from "../discovery/endpoints.js";
export {
  RegistrationClosedError,
  RegistrationConflictError,
  type RegistrationLossReason,
  RegistrationLostError,
} from "../discovery/errors.js";
export {
  allOf,
  type InstanceFilter,
  inZone,
  notDraining,
  whereMetadata,
  withEndpoint,
  withVersion,
} from "../discovery/filters.js";
export {
  EXTENSION_FIELD,
  type GoEndpointsCodecOptions,
  goEndpointsCodec,
  goSafeMetadata,
} from "../discovery/go-endpoints-codec.js";
export { type ServiceInstance, type ServiceInstanceInit, toInstance } from "../discovery/instance.js";
export {
  type RegisterOptions,
  Registration,
  type RegistrationEvent,
  type RegistrationEvents,
  type RegistrationState,
  register,
} from "../discovery/registration.js";
