/**
 * `etcd-ts/discovery`: service registration and discovery on etcd, in the key/value layout of etcd's Go
 * `naming/endpoints` so that Go and TypeScript services find each other.
 * @packageDocumentation
 */

export {
  type BalancedTransport,
  type BalancedTransportOptions,
  type BalancedTransportSource,
  createBalancedTransport,
} from "./balanced-transport.js";
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
export { hashKey } from "./hash-key.js";
export type { HealthCheckOptions } from "./health-check.js";
export { type GrpcJsServerLike, HealthStatus, type ServingStatus } from "./health-service.js";
export { type ServiceInstance, type ServiceInstanceInit, toInstance } from "./instance.js";
export type { LocalityOptions } from "./locality.js";
export type { OutlierDetectionOptions } from "./outlier-detection.js";
export type { CallObservation, PickPolicy, PickRequest } from "./pick-policy.js";
export { type BalancePolicy, type PickCandidate, Picker, type PolicyOptions } from "./picker.js";
export type { P2cEwmaOptions } from "./policies/p2c-ewma.js";
export type { RingHashOptions } from "./policies/ring-hash.js";
export {
  type RegisterOptions,
  Registration,
  type RegistrationEvent,
  type RegistrationEvents,
  type RegistrationState,
  register,
} from "./registration.js";
export type { SlowStartOptions } from "./slow-start.js";
