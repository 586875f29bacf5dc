import { experimental } from "@grpc/grpc-js";
import type { ServiceInstance } from "../discovery/instance.js";

/**
 * The resolver attribute that carries each endpoint's instance from the etcd resolver to the `etcd_ts`
 * load-balancing policy (grpc-js endpoints have no attributes of their own; resolver attributes reach the
 * policy with its channel options). The `grpc.internal.no_subchannel` prefix keeps it out of subchannel
 * arguments, so a new map never makes grpc-js open new connections.
 */
export const ENDPOINT_INSTANCES_ATTRIBUTE = "grpc.internal.no_subchannel.etcd_ts.instances";

/** One endpoint's instance and its etcd key (the key the policy records latency and success under). */
export interface EndpointInstance {
  readonly key: string;
  readonly instance: ServiceInstance;
}

/** Instances by address, as {@link addressKey} spells it. */
export type EndpointInstances = ReadonlyMap<string, EndpointInstance>;

/** The one spelling of an address both sides use (`host:port`, `[v6]:port`). */
export function addressKey(address: experimental.SubchannelAddress): string {
  return experimental.subchannelAddressToString(address);
}
