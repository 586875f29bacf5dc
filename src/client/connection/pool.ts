import type { AuthTokenSource } from "../auth/token.js";
import { ClientClosedError, InvalidArgumentError } from "../errors.js";
import type { ClosableTransport } from "../options.js";
import { EndpointList } from "./endpoints.js";
import type { ResolvedEndpoint } from "./resolved-endpoint.js";
import type { EndpointTransport, TransportPool } from "./transport-pool.js";

/** One endpoint's connection: created on first use, closed with the pool. */
interface Connection extends EndpointTransport {
  readonly transport: ClosableTransport;
}

/**
 * Owns one transport per endpoint (made lazily by `factory`), the endpoint list with its health, and
 * the metadata every call carries. Implements the `TransportPool` contract that watch and lease
 * streams use.
 */
export class ConnectionPool implements TransportPool {
  readonly endpoints: EndpointList;
  readonly #connections = new Map<string, Connection>();
  readonly #factory: (endpoint: ResolvedEndpoint) => ClosableTransport;
  readonly #auth: AuthTokenSource | undefined;
  readonly #timeoutMs: number;
  #headerToken: string | undefined;
  #leaderHeaders: Readonly<Record<string, string>> = Object.freeze({ hasleader: "true" });
  #plainHeaders: Readonly<Record<string, string>> = Object.freeze({});
  #closed = false;

  constructor(
    endpoints: ResolvedEndpoint[],
    cooldownMs: number,
    factory: (endpoint: ResolvedEndpoint) => ClosableTransport,
    auth: AuthTokenSource | undefined,
    timeoutMs: number,
  ) {
    this.endpoints = new EndpointList(endpoints, cooldownMs);
    this.#factory = factory;
    this.#auth = auth;
    this.#timeoutMs = timeoutMs;
  }

  /** The auth token source, when the client authenticates. */
  get auth(): AuthTokenSource | undefined {
    return this.#auth;
  }

  /** The connection of the endpoint calls should use now (a healthy one first). */
  pick(): EndpointTransport {
    if (this.#closed) throw new ClientClosedError();
    const endpoint = this.endpoints.current();
    let conn = this.#connections.get(endpoint.url);
    if (conn === undefined) {
      conn = { endpoint: endpoint.url, transport: this.#factory(endpoint) };
      this.#connections.set(endpoint.url, conn);
    }
    return conn;
  }

  /**
   * The connection of one chosen endpoint (a call aimed at a given member), made on first use. The URL
   * may be outside the endpoint list but must use its scheme (and so its TLS settings).
   */
  connectionFor(url: string): EndpointTransport {
    if (this.#closed) throw new ClientClosedError();
    const endpoint = this.#resolve(url);
    let conn = this.#connections.get(endpoint.url);
    if (conn === undefined) {
      conn = { endpoint: endpoint.url, transport: this.#factory(endpoint) };
      this.#connections.set(endpoint.url, conn);
    }
    return conn;
  }

  /** Reports a failed endpoint so that later picks move on. */
  markFailed(endpoint: string): void {
    // An aimed call may use a URL outside the list: there is no pin to move then.
    if (this.endpoints.all.some((e) => e.url === endpoint)) this.endpoints.markFailed(endpoint);
  }

  /**
   * Headers for a call (cached per token; do not mutate). `token` is sent when auth is on and a token
   * is held; `hasleader` when `requireLeader`.
   */
  headers(requireLeader: boolean): Readonly<Record<string, string>> {
    const token = this.#auth?.current;
    if (token !== this.#headerToken) {
      this.#headerToken = token;
      // Frozen: the transport may then reuse the headers it built from them (RequestHeaderCache).
      const plain: Record<string, string> = token === undefined ? {} : { token };
      this.#plainHeaders = Object.freeze(plain);
      this.#leaderHeaders = Object.freeze({ ...plain, hasleader: "true" });
    }
    return requireLeader ? this.#leaderHeaders : this.#plainHeaders;
  }

  /** Metadata for a call, authenticating first when auth is on and no token is held. */
  async metadata(options: { requireLeader?: boolean } = {}): Promise<Headers> {
    if (this.#auth && this.#auth.current === undefined)
      await this.#auth.obtain(this.pick(), undefined, this.#timeoutMs);
    return new Headers(this.headers(options.requireLeader ?? true));
  }

  /**
   * Drops `token` (rejected by the server as invalid) so the next `metadata()` authenticates again.
   * For long-lived streams that see "invalid auth token".
   */
  invalidateToken(token: string | undefined): void {
    this.#auth?.invalidate(token);
  }

  /** Replaces the endpoint list and closes connections to endpoints no longer in it. */
  async setEndpoints(endpoints: ResolvedEndpoint[]): Promise<void> {
    this.endpoints.replace(endpoints);
    const keep = new Set(endpoints.map((e) => e.url));
    const dropped = [...this.#connections.values()].filter((c) => !keep.has(c.endpoint));
    for (const c of dropped) this.#connections.delete(c.endpoint);
    await Promise.allSettled(dropped.map((c) => c.transport.close()));
  }

  #resolve(url: string): ResolvedEndpoint {
    const known = this.endpoints.all.find((e) => e.url === url);
    if (known) return known;
    let parsed: URL;
    try {
      parsed = new URL(url);
    } catch {
      throw new InvalidArgumentError("endpoint", `not a URL: ${JSON.stringify(url)}`);
    }
    const first = this.endpoints.all[0]!;
    const secure = parsed.protocol === "https:";
    if ((parsed.protocol !== "http:" && !secure) || secure !== first.secure)
      throw new InvalidArgumentError(
        "endpoint",
        `must use the client's scheme (${first.secure ? "https" : "http"}://)`,
      );
    if (parsed.username || parsed.password)
      throw new InvalidArgumentError("endpoint", "credentials belong in the auth option, not in the URL");
    return (
      this.endpoints.all.find((e) => e.url === parsed.origin) ?? {
        url: parsed.origin,
        secure,
        tls: first.tls,
      }
    );
  }

  /** Closes every connection. */
  async close(): Promise<void> {
    this.#closed = true;
    const all = [...this.#connections.values()];
    this.#connections.clear();
    await Promise.allSettled(all.map((c) => c.transport.close()));
  }
}
