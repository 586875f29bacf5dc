/**
 * The part of `etcd-ts/discovery` every runtime shares, free of `node:` modules: discovery's read side,
 * filters, codecs and `register()`. `index.ts` adds the balanced transport, its policies and the health
 * service to it; `etcd-ts/web` exports it as it is.
 */

export type { DecodeResult, InstanceCodec } from "./codec.js";
export {
  type DiscoverOptions,
  Discovery,
  type DiscoveryEvents,
  type DiscoveryState,
  type DiscoveryWarning,
  discover,
  type InstanceChange,
} from "./discovery.js";
export { endpointOf, GRPC_PROTOCOL, type InstanceEndpoints } from "./endpoints.js";
export {
  RegistrationClosedError,
  RegistrationConflictError,
  type RegistrationLossReason,
  RegistrationLostError,
} from "./errors.js";
export {
  allOf,
  type InstanceFilter,
  inZone,
  notDraining,
  whereMetadata,
  withEndpoint,
  withVersion,
} from "./filters.js";
export {
  EXTENSION_FIELD,
  type GoEndpointsCodecOptions,
  goEndpointsCodec,
  goSafeMetadata,
} from "./go-endpoints-codec.js";
export { type ServiceInstance, type ServiceInstanceInit, toInstance } from "./instance.js";
export {
  type RegisterOptions,
  Registration,
  type RegistrationEvent,
  type RegistrationEvents,
  type RegistrationState,
  register,
} from "./registration.js";
