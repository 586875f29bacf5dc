/**
 * The fetch-only transport over etcd's JSON gateway: no `node:` import on this path (fetch, streams,
 * AbortController, TextDecoder), so it runs in browsers and edge runtimes as in Node.
 * @packageDocumentation
 */
export { NotSupportedOverGatewayError } from "./errors.js";
export type { GatewayTransportOptions } from "./options.js";
export type { GatewayFetch } from "./request.js";
export { createGatewayTransport } from "./transport.js";
