import type { Interceptor } from "@connectrpc/connect";
import { type GetTokenContext, isHeaderValue, type ResolvedAuth } from "./auth/token.js";
import type { BuiltinTransport } from "./call/default-transport-options.js";
import type { ResolvedEndpoint, TlsOptions } from "./call/resolved-endpoint.js";
import { InvalidArgumentError } from "./core/errors.js";
import { checkNumber, DEFAULT_MAX_REQUEST_BYTES, shownInput } from "./core/validation.js";
import type { ClosableTransport } from "./transport/closable-transport.js";
import { parseEndpointAddress } from "./transport/endpoint-address.js";

/** Options of `new Etcd(...)`. */
export interface EtcdOptions {
  /**
   * Client URLs of the members, e.g. `["http://127.0.0.1:2379"]`: `http://` or `https://`, or a unix
   * socket as `unix:///path/to/socket` (`unixs://` for TLS over it; etcd serves client URLs on unix
   * sockets). All plain (http, unix) or all TLS (https, unixs). Required.
   */
  endpoints: string[] | string;
  /**
   * Auth, in one of three forms: `{ username, password }` (the client calls `Authenticate` and refreshes
   * the token itself), `{ token }` (a token minted elsewhere, sent as is), or `{ getToken }` (asked for a
   * token when none is held and after the server refused one). Default none.
   */
  auth?: AuthOptions | undefined;
  /** TLS material for `https://` and `unixs://` endpoints. Default: Node's defaults (system CAs, no client cert). */
  tls?: TlsOptions | undefined;
  /**
   * Makes the transport for one endpoint; lets you bring grpc-js or connect-node transports. Or names a
   * built-in one, which takes the client's keepalive, connect timeout and request size options: `"h2-net"`
   * (gRPC over etcd-ts's own HTTP/2 client on `node:net` and `node:tls`) or `"http2"` (the same gRPC
   * transport on `node:http2`, kept as a fallback; see docs/performance.md). Default: `"h2-net"`.
   */
  transport?: ((endpoint: ResolvedEndpoint) => ClosableTransport) | BuiltinTransport | undefined;
  /**
   * Connect interceptors (`Interceptor` of `@connectrpc/connect`) around every RPC the client sends, unary
   * or stream, whichever transport: the first is outermost. They run once per attempt on one endpoint
   * (`req.url` names it), after the client added its headers: `req.header` carries the auth token
   * (`token`) and `Auth/Authenticate`'s request carries the password, so never log either. Default none.
   */
  interceptors?: Interceptor[] | undefined;
  /** Deadline of every call in ms (all its retries included), unless the call sets its own. Default 10000. */
  timeoutMs?: number | undefined;
  /** Retries of calls that are safe to retry. */
  retry?:
    | {
        /** Attempts per call, the first included. Default 5. */
        maxAttempts?: number | undefined;
        /** Delay before the first retry in ms (doubles each time, jittered). Default 50. */
        initialBackoffMs?: number | undefined;
        /** Largest delay between retries in ms. Default 1000. */
        maxBackoffMs?: number | undefined;
      }
    | undefined;
  /** How long an endpoint that failed is skipped, in ms. Default 5000. */
  endpointCooldownMs?: number | undefined;
  /**
   * Send `hasleader: true` so a member cut off from its cluster refuses at once ("no leader") instead of
   * hanging; serializable reads never send it. Default true.
   */
  requireLeader?: boolean | undefined;
  /**
   * Reads never go back in time (etcd's Go `client/v3/ordering`): the client remembers the newest store
   * revision any KV answer carried (reads, writes, txns; its namespace views share it), and a read
   * (`get`, `range`, each page of `iterate`, a txn that only reads) answered by a member behind it (a
   * serializable read from a lagging member, a read after failing over to one) is not returned: the
   * member is marked failed and the read is retried on the next one, per `retry`. When none answers at
   * that revision or newer within the call's attempts and deadline, the call fails with
   * `StaleReadError`. Default false.
   */
  monotonicReads?: boolean | undefined;
  /** HTTP/2 PING interval in ms that detects dead or frozen connections. Default 10000. */
  keepaliveIntervalMs?: number | undefined;
  /** How long a PING may go unanswered before the connection is closed, in ms. Default 5000. */
  keepaliveTimeoutMs?: number | undefined;
  /**
   * How long a new connection may take, in ms: TCP, TLS for https, and the HTTP/2 handshake up to the
   * server's first SETTINGS frame (calls are sent only after it, so one that fails here was never sent and
   * moves to the next endpoint). Default 5000.
   */
  connectTimeoutMs?: number | undefined;
  /**
   * Refresh the endpoint list from `MemberList` every this many ms (0 = never). Learned endpoints keep
   * the scheme of the configured ones. Default 0.
   */
  autoSyncIntervalMs?: number | undefined;
  /** The server's `--max-request-bytes`; larger puts are refused before sending. Default 1572864 (1.5 MiB). */
  maxRequestBytes?: number | undefined;
  /** The long-lived streams: the shared Watch stream and the shared LeaseKeepAlive stream. */
  streams?: StreamOptions | undefined;
}

/**
 * The `auth` option: exactly one of its three forms. Whichever is used, a refused token is refreshed at
 * most once per call (a unary call then runs once more; a stream reopens at once, then with backoff).
 */
export type AuthOptions =
  | {
      /** The etcd user. */
      username: string;
      /** Its password; kept out of `inspect()`, errors and logs. */
      password: string;
      token?: never | undefined;
      getToken?: never | undefined;
    }
  | {
      /**
       * A token minted elsewhere (e.g. a JWT of etcd's `--auth-token=jwt`), sent as is. It cannot be
       * refreshed: once the server refuses it (expired; a simple token's member restarted; a JWT after
       * any change to the auth store), calls fail with `InvalidAuthTokenError` and watches and kept-alive
       * leases end with it. Use `getToken` for tokens that expire.
       */
      token: string;
      username?: never | undefined;
      password?: never | undefined;
      getToken?: never | undefined;
    }
  | {
      /**
       * Returns a token minted elsewhere (e.g. a JWT from your identity service). Called when the client
       * holds none (`reason: "initial"`) and after the server refused the current one
       * (`reason: "refresh"`); concurrent calls share one pending call. When it throws, rejects or does
       * not settle within `timeoutMs`, the calls waiting for it fail with `GetTokenError` (not retried:
       * the next call asks again) and streams retry with backoff.
       */
      getToken: (context: GetTokenContext) => Promise<string> | string;
      username?: never | undefined;
      password?: never | undefined;
      token?: never | undefined;
    };

/** Options of the client's long-lived streams (watches, lease keepalive). */
export interface StreamOptions {
  /** Delays between attempts to reopen a broken stream. */
  backoff?:
    | {
        /** First delay in ms (doubles each time, jittered). Default 50. */
        initialMs?: number | undefined;
        /** Largest delay in ms. Default 2000. */
        maxMs?: number | undefined;
      }
    | undefined;
  /**
   * After this long without any answer on the Watch stream, its connection is checked, in ms: an HTTP/2
   * PING on the default transport, a `Maintenance/Status` call on transports without one. A frozen member
   * answers nothing, while a watch may be idle for hours. 0 turns idle checks off. Default 5000.
   */
  idleTimeoutMs?: number | undefined;
  /**
   * A liveness check of the Watch stream's connection, or a lease keepalive, unanswered this long means
   * the stream is dead: it is abandoned, its endpoint marked failed, and the stream reopened on the next
   * endpoint, in ms (a keepalive waits at most a third of its lease's TTL). A watch request (create,
   * cancel, progress) waiting this long gets the connection checked, and a progress request unanswered
   * this long is asked again (etcd drops it while a watch catches up). Default 2000.
   */
  probeTimeoutMs?: number | undefined;
}

/** Options after validation, every default filled in. */
export interface ResolvedOptions {
  endpoints: ResolvedEndpoint[];
  auth: ResolvedAuth | undefined;
  tls: TlsOptions | undefined;
  /** The user's transport factory; undefined for a built-in one (`builtinTransport`). */
  transport: ((endpoint: ResolvedEndpoint) => ClosableTransport) | undefined;
  /** The built-in transport the user named; undefined for the platform's default (h2-net on `etcd-ts`). */
  builtinTransport: BuiltinTransport | undefined;
  interceptors: readonly Interceptor[];
  timeoutMs: number;
  maxAttempts: number;
  backoff: { initialMs: number; maxMs: number };
  endpointCooldownMs: number;
  requireLeader: boolean;
  monotonicReads: boolean;
  keepaliveIntervalMs: number;
  keepaliveTimeoutMs: number;
  connectTimeoutMs: number;
  autoSyncIntervalMs: number;
  maxRequestBytes: number;
  streams: { backoff: { initialMs: number; maxMs: number }; idleTimeoutMs: number; answerTimeoutMs: number };
}

/**
 * Validates a URL list: every entry an `http://`, `https://`, `unix://` or `unixs://` URL, all plain
 * (http, unix) or all TLS (https, unixs).
 */
export function resolveEndpoints(urls: readonly string[], tls: TlsOptions | undefined): ResolvedEndpoint[] {
  if (urls.length === 0) throw new InvalidArgumentError("endpoints", "at least one endpoint is required");
  const resolved = urls.map((raw) => {
    const { url, secure } = parseEndpointAddress(raw, "endpoints");
    return { url, secure, tls: secure ? tls : undefined };
  });
  const secure = resolved[0]!.secure;
  if (resolved.some((e) => e.secure !== secure)) {
    throw new InvalidArgumentError(
      "endpoints",
      "mixes http:// and https:// endpoints (unix:// is plain like http://, unixs:// TLS like https://); use TLS for every member or for none",
    );
  }
  return resolved;
}

/** Validates `options` and fills in every default. */
export function resolveOptions(options: EtcdOptions): ResolvedOptions {
  if (options === null || typeof options !== "object")
    throw new InvalidArgumentError("options", "an options object with endpoints is required");
  const list = typeof options.endpoints === "string" ? [options.endpoints] : options.endpoints;
  if (!Array.isArray(list)) throw new InvalidArgumentError("endpoints", "must be a URL or an array of URLs");
  const endpoints = resolveEndpoints(list, options.tls);
  if (options.tls && !endpoints[0]!.secure)
    throw new InvalidArgumentError(
      "tls",
      "is set but the endpoints are plain (http://, unix://); use https:// or unixs:// endpoints",
    );
  const auth = resolveAuth(options.auth);
  const transport = options.transport;
  if (
    transport !== undefined &&
    typeof transport !== "function" &&
    transport !== "http2" &&
    transport !== "h2-net"
  )
    throw new InvalidArgumentError(
      "transport",
      `must be a transport factory (a function), "http2" or "h2-net", got ${shownInput(transport)}`,
    );
  const interceptors = options.interceptors ?? [];
  if (!Array.isArray(interceptors) || interceptors.some((i) => typeof i !== "function"))
    throw new InvalidArgumentError("interceptors", "must be an array of Connect interceptors (functions)");
  checkNumber(options.timeoutMs, "timeoutMs", 1);
  checkNumber(options.retry?.maxAttempts, "retry.maxAttempts", 1);
  checkNumber(options.retry?.initialBackoffMs, "retry.initialBackoffMs", 0);
  checkNumber(options.retry?.maxBackoffMs, "retry.maxBackoffMs", 0);
  checkNumber(options.endpointCooldownMs, "endpointCooldownMs", 0);
  if (options.monotonicReads !== undefined && typeof options.monotonicReads !== "boolean")
    throw new InvalidArgumentError(
      "monotonicReads",
      `must be a boolean, got ${shownInput(options.monotonicReads)}`,
    );
  checkNumber(options.keepaliveIntervalMs, "keepaliveIntervalMs", 1);
  checkNumber(options.keepaliveTimeoutMs, "keepaliveTimeoutMs", 1);
  checkNumber(options.connectTimeoutMs, "connectTimeoutMs", 1);
  checkNumber(options.autoSyncIntervalMs, "autoSyncIntervalMs", 0);
  checkNumber(options.maxRequestBytes, "maxRequestBytes", 1);
  const streams = options.streams ?? {};
  if (typeof streams !== "object" || streams === null)
    throw new InvalidArgumentError("streams", "must be an object");
  checkNumber(streams.backoff?.initialMs, "streams.backoff.initialMs", 1);
  checkNumber(streams.backoff?.maxMs, "streams.backoff.maxMs", 1);
  checkNumber(streams.idleTimeoutMs, "streams.idleTimeoutMs", 0);
  checkNumber(streams.probeTimeoutMs, "streams.probeTimeoutMs", 1);
  return {
    endpoints,
    auth,
    tls: options.tls,
    transport: typeof transport === "function" ? transport : undefined,
    builtinTransport: typeof transport === "string" ? transport : undefined,
    interceptors: Object.freeze([...interceptors]),
    timeoutMs: options.timeoutMs ?? 10_000,
    maxAttempts: Math.floor(options.retry?.maxAttempts ?? 5),
    backoff: {
      initialMs: options.retry?.initialBackoffMs ?? 50,
      maxMs: options.retry?.maxBackoffMs ?? 1_000,
    },
    endpointCooldownMs: options.endpointCooldownMs ?? 5_000,
    requireLeader: options.requireLeader ?? true,
    monotonicReads: options.monotonicReads ?? false,
    keepaliveIntervalMs: options.keepaliveIntervalMs ?? 10_000,
    keepaliveTimeoutMs: options.keepaliveTimeoutMs ?? 5_000,
    connectTimeoutMs: options.connectTimeoutMs ?? 5_000,
    autoSyncIntervalMs: options.autoSyncIntervalMs ?? 0,
    maxRequestBytes: options.maxRequestBytes ?? DEFAULT_MAX_REQUEST_BYTES,
    streams: {
      backoff: { initialMs: streams.backoff?.initialMs ?? 50, maxMs: streams.backoff?.maxMs ?? 2_000 },
      idleTimeoutMs: streams.idleTimeoutMs ?? 5_000,
      answerTimeoutMs: streams.probeTimeoutMs ?? 2_000,
    },
  };
}

/** Validates the `auth` option: exactly one of its forms, each field of the right type. Never shows a secret. */
function resolveAuth(auth: AuthOptions | undefined): ResolvedAuth | undefined {
  if (auth === undefined) return undefined;
  if (auth === null || typeof auth !== "object")
    throw new InvalidArgumentError("auth", "must be { username, password }, { token } or { getToken }");
  const { username, password, token, getToken } = auth as Record<string, unknown>;
  const forms = [
    username !== undefined || password !== undefined,
    token !== undefined,
    getToken !== undefined,
  ];
  if (forms.filter(Boolean).length !== 1)
    throw new InvalidArgumentError(
      "auth",
      "set exactly one of { username, password }, { token } and { getToken }",
    );
  if (token !== undefined) {
    if (typeof token !== "string" || !isHeaderValue(token))
      throw new InvalidArgumentError("auth.token", "must be a non-empty string without line breaks");
    return { kind: "token", token };
  }
  if (getToken !== undefined) {
    if (typeof getToken !== "function")
      throw new InvalidArgumentError("auth.getToken", `must be a function, got ${typeof getToken}`);
    // Called as a method of the object it came on, so a provider class keeps its `this`.
    const fn = getToken as (context: GetTokenContext) => Promise<string> | string;
    return { kind: "getToken", getToken: fn.bind(auth) };
  }
  if (typeof username !== "string" || username === "")
    throw new InvalidArgumentError("auth.username", "must be a non-empty string");
  if (typeof password !== "string") throw new InvalidArgumentError("auth.password", "must be a string");
  return { kind: "password", username, password };
}
