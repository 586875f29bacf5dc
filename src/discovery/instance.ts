import {
  checkName,
  checkNumber,
  checkOptionsObject,
  InvalidArgumentError,
  shownInput,
} from "../client/core/index.js";
import { checkEndpoints } from "./endpoints.js";
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
  /**
   * The instance's other endpoints by protocol (e.g. `{ http: "http://127.0.0.1:8080" }`), beside `addr`,
   * which is its `grpc` endpoint (see `endpointOf()`). Absent when it has none.
   */
  readonly endpoints?: Readonly<Record<string, string>> | undefined;
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
  /**
   * Other endpoints of the same process by protocol name (lower case, like a URL scheme), e.g.
   * `{ http: "http://127.0.0.1:8080" }`; `addr` is the gRPC one and must not be repeated as `grpc`.
   * Default: none.
   */
  endpoints?: Readonly<Record<string, string>> | undefined;
}

/**
 * Checks a {@link ServiceInstanceInit} (as a JavaScript caller may give it) and fills its defaults: the
 * service a name without `/` (docs/discovery.md, "Service names"), `addr` a non-empty string, `weight` a number
 * >= 0, `version`, `zone` and `region` strings, `draining` a boolean, `endpoints` an
 * object of protocol name → address (see `checkEndpoints`). Throws `InvalidArgumentError` naming the field.
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
  const endpoints = checkEndpoints(init.endpoints);
  return {
    service: init.service,
    addr: init.addr,
    metadata: init.metadata ?? null,
    weight: init.weight ?? 1,
    ...(init.version !== undefined ? { version: init.version } : {}),
    ...(init.zone !== undefined ? { zone: init.zone } : {}),
    ...(init.region !== undefined ? { region: init.region } : {}),
    draining: init.draining ?? false,
    ...(endpoints !== undefined ? { endpoints } : {}),
  };
}
