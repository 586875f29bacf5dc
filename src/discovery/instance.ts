import {
  checkName,
  checkNumber,
  checkOptionsObject,
  InvalidArgumentError,
  shownInput,
} from "../client/core/index.js";
import { checkServiceName } from "./service-name.js";

/** One registered instance of a service, as etcd-ts reads and writes it. */
export interface ServiceInstance {
  /** Service name (the key's first part, after the optional prefix). */
  readonly service: string;
  /** `host:port` clients dial. */
  readonly addr: string;
  /** The user's metadata: any JSON value. Default `null`. */
  readonly metadata: unknown;
  /** Relative weight for weighted load balancing. Default 1. */
  readonly weight: number;
  /** Version label of the instance, if given. */
  readonly version?: string | undefined;
  /** Zone label, if given (the balanced transport's `locality` prefers the caller's zone). */
  readonly zone?: string | undefined;
  /** Region label, if given (the balanced transport's `locality` spills to the caller's region first). */
  readonly region?: string | undefined;
  /** True once the instance asked clients to stop sending new calls. */
  readonly draining: boolean;
}

/** What a caller gives to describe an instance; everything but service and addr is optional. */
export interface ServiceInstanceInit {
  service: string;
  addr: string;
  metadata?: unknown | undefined;
  weight?: number | undefined;
  version?: string | undefined;
  zone?: string | undefined;
  region?: string | undefined;
  draining?: boolean | undefined;
}

/**
 * Checks a {@link ServiceInstanceInit} (as a JavaScript caller may give it) and fills its defaults: the
 * service a name without `/` (docs/discovery.md, "Service names"), `addr` a non-empty string, `weight` a number
 * >= 0, `version`, `zone` and `region` strings, `draining` a boolean. Throws `InvalidArgumentError` naming the field.
 */
export function toInstance(init: ServiceInstanceInit): ServiceInstance {
  checkOptionsObject(init, "options", false);
  checkServiceName(init.service);
  checkName(init.addr, "addr");
  checkNumber(init.weight, "weight", 0);
  for (const field of ["version", "zone", "region"] as const)
    if (init[field] !== undefined && typeof init[field] !== "string")
      throw new InvalidArgumentError(field, `must be a string, got ${shownInput(init[field])}`);
  if (init.draining !== undefined && typeof init.draining !== "boolean")
    throw new InvalidArgumentError("draining", `must be a boolean, got ${shownInput(init.draining)}`);
  return {
    service: init.service,
    addr: init.addr,
    metadata: init.metadata ?? null,
    weight: init.weight ?? 1,
    ...(init.version !== undefined ? { version: init.version } : {}),
    ...(init.zone !== undefined ? { zone: init.zone } : {}),
    ...(init.region !== undefined ? { region: init.region } : {}),
    draining: init.draining ?? false,
  };
}
