import { InvalidArgumentError } from "../../core/errors.js";
import { checkNumber, checkOptionsObject, shownInput } from "../../core/validation.js";
import type { HeadersInit } from "../headers-init.js";
import type { GatewayFetch } from "./request.js";

/** Options of `createGatewayTransport`. */
export interface GatewayTransportOptions {
  /** The member's client URL, e.g. `http://127.0.0.1:2379` (`https:` too; a path prefix is kept). */
  baseUrl: string;
  /**
   * The `fetch` to call: a proxy's, a test's, or one bound to a runtime's own. Default: the global
   * `fetch` of the runtime (browsers, workerd, Deno, Bun, Node 20+).
   */
  fetch?: GatewayFetch | undefined;
  /**
   * Headers sent with every request, before the call's own (a proxy's credentials, say). A browser sends
   * only those its page's CORS allows: etcd's `--cors` allows `accept`, `content-type` and
   * `authorization`. Default none.
   */
  headers?: HeadersInit | undefined;
  /**
   * Deadline of a unary call that comes without one, ms. The client always gives one (its `timeoutMs`);
   * this is for direct use of the transport. Default none.
   */
  timeoutMs?: number | undefined;
  /**
   * How the client's auth token goes out in the `Authorization` header: `"token"` (the bare token, which
   * every etcd reads) or `"bearer"` (`Bearer <token>`, read by etcd 3.5.32+, 3.6.13+ and 3.7; older ones
   * refuse it as an invalid token). Default `"token"`.
   */
  authorization?: "token" | "bearer" | undefined;
}

/** The options, checked, with defaults filled in. */
export interface ResolvedGatewayOptions {
  readonly baseUrl: string;
  readonly fetch: GatewayFetch;
  readonly headers: Headers;
  readonly timeoutMs: number | undefined;
  readonly bearer: boolean;
}

/** Checks the options (an `InvalidArgumentError` naming the option at fault) and fills in the defaults. */
export function resolveGatewayOptions(options: GatewayTransportOptions): ResolvedGatewayOptions {
  checkOptionsObject(options, "options", false);
  const { baseUrl, timeoutMs, authorization = "token" } = options;
  let url: URL;
  try {
    url = new URL(baseUrl);
  } catch {
    throw new InvalidArgumentError("baseUrl", `must be an http or https URL, got ${shownInput(baseUrl)}`);
  }
  if (url.protocol !== "http:" && url.protocol !== "https:")
    throw new InvalidArgumentError("baseUrl", `must be an http or https URL, got ${shownInput(baseUrl)}`);
  const fetchFn = options.fetch ?? (globalThis.fetch as GatewayFetch | undefined);
  if (typeof fetchFn !== "function")
    throw new InvalidArgumentError(
      "fetch",
      "must be a function (this runtime has no global fetch: pass one)",
    );
  checkNumber(timeoutMs, "timeoutMs", 1);
  if (authorization !== "token" && authorization !== "bearer")
    throw new InvalidArgumentError(
      "authorization",
      `must be "token" or "bearer", got ${shownInput(authorization)}`,
    );
  let headers: Headers;
  try {
    headers = new Headers(options.headers);
  } catch (err) {
    throw new InvalidArgumentError("headers", err instanceof Error ? err.message : String(err));
  }
  return {
    baseUrl: url.href.replace(/\/+$/, ""),
    // Called unbound: a browser's fetch throws "Illegal invocation" when called on another `this`.
    fetch: options.fetch ?? ((input, init) => fetchFn(input, init)),
    headers,
    timeoutMs,
    bearer: authorization === "bearer",
  };
}
