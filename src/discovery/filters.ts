import { checkProtocol, endpointOf } from "./endpoints.js";
import type { ServiceInstance } from "./instance.js";

/** A predicate over instances, for `discover(..., { filter })`. */
export type InstanceFilter = (instance: ServiceInstance) => boolean;

/** Keeps instances that are not draining. */
export const notDraining: InstanceFilter = (instance) => !instance.draining;

/** Keeps instances in `zone`. */
export function inZone(zone: string): InstanceFilter {
  return (instance) => instance.zone === zone;
}

/** Keeps instances whose version equals `version`, or passes `version` when it is a predicate. */
export function withVersion(version: string | ((version: string | undefined) => boolean)): InstanceFilter {
  return typeof version === "string" ? (i) => i.version === version : (i) => version(i.version);
}

/** Keeps instances with an endpoint for `protocol` (`"grpc"`: every instance, its `addr`). */
export function withEndpoint(protocol: string): InstanceFilter {
  checkProtocol(protocol, "protocol");
  return (instance) => endpointOf(instance, protocol) !== undefined;
}

/** Keeps instances whose user metadata satisfies `predicate`. */
export function whereMetadata(predicate: (metadata: unknown) => boolean): InstanceFilter {
  return (instance) => predicate(instance.metadata);
}

/** Keeps instances every filter keeps. */
export function allOf(...filters: InstanceFilter[]): InstanceFilter {
  return (instance) => filters.every((f) => f(instance));
}
