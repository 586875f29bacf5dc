import { type ContextValues, createContextKey } from "@connectrpc/connect";
import { InvalidArgumentError, shownInput } from "../client/core/index.js";
import type { HeadersInit } from "../client/transport/index.js";

/**
 * The context value that gives a call its hash key for the balanced transport's `ring-hash` policy:
 * `client.method(request, { contextValues: createContextValues().set(hashKey, "user-42") })`. It takes
 * precedence over the `ringHash.header` request header; without either, the call goes to a random
 * instance (weighted). Default `undefined`.
 */
export const hashKey = createContextKey<string | undefined>(undefined, { description: "etcd-ts hash key" });

/**
 * The hash key of one call: the `hashKey` context value, else the value of the request header `header`
 * (lower-case), else undefined. A context value that is not a string is an `InvalidArgumentError`.
 */
export function callHashKey(
  contextValues: ContextValues | undefined,
  headers: HeadersInit | undefined,
  header: string,
): string | undefined {
  const given = contextValues?.get(hashKey) as unknown;
  if (given !== undefined) {
    if (typeof given !== "string")
      throw new InvalidArgumentError("hashKey", `must be a string, got ${shownInput(given)}`);
    return given;
  }
  return headerValue(headers, header);
}

/** One header's value from any `HeadersInit` form, without copying it into a `Headers`. */
function headerValue(headers: HeadersInit | undefined, name: string): string | undefined {
  if (headers === undefined) return undefined;
  if (headers instanceof Headers) return headers.get(name) ?? undefined;
  if (Array.isArray(headers)) {
    for (const [k, v] of headers as [string, string][]) if (k.toLowerCase() === name) return v;
    return undefined;
  }
  for (const [k, v] of Object.entries(headers as Record<string, string>)) {
    if (k.toLowerCase() === name) return v;
  }
  return undefined;
}
