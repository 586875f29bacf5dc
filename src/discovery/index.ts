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
export { hashKey } from "./hash-key.js";
export type { HealthCheckOptions } from "./health-check.js";
export { type GrpcJsServerLike, HealthStatus, type ServingStatus } from "./health-service.js";
export type { LocalityOptions } from "./locality.js";
export type { OutlierDetectionOptions } from "./outlier-detection.js";
export type { CallObservation, PickPolicy, PickRequest } from "./pick-policy.js";
export { type BalancePolicy, type PickCandidate, Picker, type PolicyOptions } from "./picker.js";
export type { P2cEwmaOptions } from "./policies/p2c-ewma.js";
export type { RingHashOptions } from "./policies/ring-hash.js";
export * from "./portable.js";
export type { SlowStartOptions } from "./slow-start.js";
