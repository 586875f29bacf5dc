import type { Interceptor } from "@connectrpc/connect";
import type { AuthTokenSource } from "../auth/token.js";
import { ClientClosedError, InvalidArgumentError } from "../core/errors.js";
import type { DiagnosticsChannels } from "../diagnostics/channels.js";
import type { ClosableTransport } from "../transport/closable-transport.js";
import { parseEndpointAddress } from "../transport/endpoint-address.js";
import { EndpointChannel } from "./endpoint-channel.js";
import type { EndpointServer } from "./endpoint-server.js";
import { EndpointList } from "./endpoints.js";
import type { ResolvedEndpoint } from "./resolved-endpoint.js";

/**
 * Owns one {@link EndpointChannel} (the call pipeline over a transport made lazily by `factory`) per
 * endpoint, and the endpoint list with its health. Unary calls, watch and keepalive streams and
 * snapshots all get their channel here.
 */
/** What every channel of a {@link ConnectionPool} shares: the client's settings. */
export interface PoolSettings {
  /** How long an endpoint that failed is skipped, ms. */
  readonly cooldownMs: number;
  /** Makes the transport of one endpoint. */
  readonly factory: (endpoint: ResolvedEndpoint) => ClosableTransport;
  /** The client's auth, if any. */
  readonly auth: AuthTokenSource | undefined;
  /** Deadline of an `Authenticate` a stream needs before it opens, ms (the client's `timeoutMs`). */
  readonly timeoutMs: number;
  /** The client's `requireLeader`: `hasleader` unless a call's spec says otherwise. */
  readonly requireLeader: boolean;
  /** The user's Connect interceptors. Default none. */
  readonly interceptors?: readonly Interceptor[] | undefined;
  /** Where calls, streams and endpoint failures are published (the platform's channels). */
  readonly diagnostics: DiagnosticsChannels;
}

export class ConnectionPool {
  readonly endpoints: EndpointList;
  /** The client's diagnostics channels: what the call pipeline and the rooms over it publish on. */
  readonly diagnostics: DiagnosticsChannels;
  readonly #channels = new Map<string, EndpointChannel>();
  readonly #factory: (endpoint: ResolvedEndpoint) => ClosableTransport;
  readonly #auth: AuthTokenSource | undefined;
  readonly #timeoutMs: number;
  readonly #requireLeader: boolean;
  readonly #interceptors: readonly Interceptor[];
  #closed = false;

  constructor(endpoints: ResolvedEndpoint[], settings: PoolSettings) {
    this.endpoints = new EndpointList(endpoints, settings.cooldownMs);
    this.#factory = settings.factory;
    this.#auth = settings.auth;
    this.#timeoutMs = settings.timeoutMs;
    this.#requireLeader = settings.requireLeader;
    this.#interceptors = settings.interceptors ?? [];
    this.diagnostics = settings.diagnostics;
  }

  /** The channel of the endpoint calls should use now (a healthy one first). */
  pick(): EndpointChannel {
    if (this.#closed) throw new ClientClosedError();
    return this.#channel(this.endpoints.current());
  }

  /**
   * The channel of one chosen endpoint (a call aimed at a given member), made on first use. The URL
   * may be outside the endpoint list but must use its scheme (and so its TLS settings).
   */
  channelFor(url: string): EndpointChannel {
    if (this.#closed) throw new ClientClosedError();
    return this.#channel(this.#resolve(url));
  }

  #channel(endpoint: ResolvedEndpoint): EndpointChannel {
    let channel = this.#channels.get(endpoint.url);
    if (channel === undefined) {
      channel = new EndpointChannel(
        endpoint.url,
        this.#factory(endpoint),
        this.#auth,
        this.#timeoutMs,
        this.#requireLeader,
        this.#interceptors,
      );
      this.#channels.set(endpoint.url, channel);
    }
    return channel;
  }

  /** What is known about the server behind `url` (its version), when the client has a channel to it. */
  serverOf(url: string): EndpointServer | undefined {
    return this.#channels.get(url)?.server;
  }

  /** Reports a failed endpoint (`error` says what failed) so that later picks move on. */
  markFailed(endpoint: string, error: Error): void {
    // An aimed call may use a URL outside the list: there is no pin to move then.
    if (!this.endpoints.all.some((e) => e.url === endpoint)) return;
    this.endpoints.markFailed(endpoint);
    const { endpointFailed } = this.diagnostics;
    if (endpointFailed.hasSubscribers)
      endpointFailed.publish({ endpoint, error, next: this.endpoints.current().url });
  }

  /** Replaces the endpoint list and closes connections to endpoints no longer in it. */
  async setEndpoints(endpoints: ResolvedEndpoint[]): Promise<void> {
    this.endpoints.replace(endpoints);
    const keep = new Set(endpoints.map((e) => e.url));
    const dropped = [...this.#channels.values()].filter((c) => !keep.has(c.endpoint));
    for (const c of dropped) this.#channels.delete(c.endpoint);
    await Promise.allSettled(dropped.map((c) => c.transport.close()));
  }

  #resolve(url: string): ResolvedEndpoint {
    const known = this.endpoints.all.find((e) => e.url === url);
    if (known) return known;
    const address = parseEndpointAddress(url, "endpoint");
    const first = this.endpoints.all[0]!;
    if (address.secure !== first.secure)
      throw new InvalidArgumentError(
        "endpoint",
        `must use TLS as the client's endpoints do (${first.secure ? "https:// or unixs://" : "http:// or unix://"})`,
      );
    return (
      this.endpoints.all.find((e) => e.url === address.url) ?? {
        url: address.url,
        secure: address.secure,
        tls: first.tls,
      }
    );
  }

  /** Closes every connection. */
  async close(): Promise<void> {
    this.#closed = true;
    const all = [...this.#channels.values()];
    this.#channels.clear();
    await Promise.allSettled(all.map((c) => c.transport.close()));
  }
}
