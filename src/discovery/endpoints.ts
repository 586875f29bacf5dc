import { checkName, checkOptionsObject, InvalidArgumentError, shownInput } from "../client/core/index.js";

/** What {@link endpointOf} reads of an instance (a `ServiceInstance` has both). */
export interface InstanceEndpoints {
  /** The gRPC endpoint. */
  readonly addr: string;
  /** The other endpoints by protocol. */
  readonly endpoints?: Readonly<Record<string, string>> | undefined;
}

/**
 * The protocol whose endpoint is an instance's `addr`: the address Go's `naming/endpoints` and
 * `naming/resolver` see, and the one a balanced transport dials by default.
 */
export const GRPC_PROTOCOL = "grpc";

/** A protocol name: lower case, like a URL scheme (`http`, `grpc-web`, `h2c`, `ws+json`). */
const PROTOCOL_NAME = /^[a-z][a-z0-9+.-]*$/;

/** Whether `name` is a protocol name (lower case, like a URL scheme). */
export function isProtocolName(name: string): boolean {
  return PROTOCOL_NAME.test(name);
}

/**
 * Checks a protocol name given by a caller (`field` names where it came from): a string, lower case,
 * like a URL scheme. Throws `InvalidArgumentError`.
 */
export function checkProtocol(protocol: unknown, field: string): string {
  if (typeof protocol !== "string" || !isProtocolName(protocol))
    throw new InvalidArgumentError(
      field,
      `must be a protocol name like "grpc" or "http" (lower case, a letter then letters, digits, "+", "-" or "."), got ${shownInput(protocol)}`,
    );
  return protocol;
}

/**
 * Checks an instance's `endpoints` (the ones beside `addr`) as a JavaScript caller may give them: a plain
 * object of protocol name → non-empty address string, without `grpc` (that endpoint is `addr`). Returns a
 * frozen copy, or undefined when there is none. Throws `InvalidArgumentError` naming the entry.
 */
export function checkEndpoints(endpoints: unknown): Readonly<Record<string, string>> | undefined {
  if (endpoints === undefined) return undefined;
  checkOptionsObject(endpoints, "endpoints", false);
  const copy: Record<string, string> = {};
  for (const [protocol, address] of Object.entries(endpoints as Record<string, unknown>)) {
    checkProtocol(protocol, `endpoints[${JSON.stringify(protocol)}]`);
    if (protocol === GRPC_PROTOCOL)
      throw new InvalidArgumentError(
        "endpoints.grpc",
        "the gRPC endpoint is `addr` (what Go's naming/endpoints reads): give it there",
      );
    checkName(address as string, `endpoints.${protocol}`);
    copy[protocol] = address as string;
  }
  return Object.keys(copy).length > 0 ? Object.freeze(copy) : undefined;
}

/**
 * The address of `instance`'s endpoint for `protocol`: `addr` for `"grpc"`, else the entry of its
 * `endpoints`; undefined when it has none for that protocol.
 */
export function endpointOf(instance: InstanceEndpoints, protocol: string): string | undefined {
  if (protocol === GRPC_PROTOCOL) return instance.addr;
  const endpoints = instance.endpoints;
  return endpoints !== undefined && Object.hasOwn(endpoints, protocol) ? endpoints[protocol] : undefined;
}
