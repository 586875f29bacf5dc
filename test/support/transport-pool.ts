import type * as http2 from "node:http2";
import type { Interceptor } from "@connectrpc/connect";
import { createGrpcTransport, Http2SessionManager } from "@connectrpc/connect-node";
import type { EndpointTransport, TransportPool } from "../../src/client/connection/transport-pool.js";

/** Options of {@link TestTransportPool}. */
export interface TestTransportPoolOptions {
  /** HTTP/2 PING interval, ms: how fast a dead (e.g. frozen) connection is noticed. Default 1000; 0 = no PINGs. */
  pingIntervalMs?: number;
  /** HTTP/2 PING timeout, ms. Default 1000. */
  pingTimeoutMs?: number;
}

/**
 * A minimal {@link TransportPool} for tests, until the client's real one lands: one gRPC transport per
 * endpoint (connect-node, HTTP/2, closeable), round-robin on `markFailed`, `hasleader: true` metadata.
 */
export class TestTransportPool implements TransportPool, AsyncDisposable {
  readonly #entries: {
    endpoint: string;
    transport: EndpointTransport["transport"];
    session: Http2SessionManager;
  }[];
  #current = 0;
  /** Every endpoint reported failed, in order (tests assert on it). */
  readonly failures: string[] = [];
  /** Calls started through this pool's transports, by method name (e.g. `LeaseKeepAlive`). */
  readonly calls = new Map<string, number>();

  constructor(endpoints: string[], options: TestTransportPoolOptions = {}) {
    if (endpoints.length === 0) throw new RangeError("at least one endpoint is needed");
    this.#entries = endpoints.map((endpoint) => {
      const pingIntervalMs = options.pingIntervalMs ?? 1000;
      const session = new QuietHttp2SessionManager(
        endpoint,
        pingIntervalMs > 0 ? { pingIntervalMs, pingTimeoutMs: options.pingTimeoutMs ?? 1000 } : {},
      );
      const count: Interceptor = (next) => (req) => {
        this.calls.set(req.method.name, (this.calls.get(req.method.name) ?? 0) + 1);
        return next(req);
      };
      const transport = createGrpcTransport({
        baseUrl: endpoint,
        sessionManager: session,
        interceptors: [count],
      });
      return { endpoint, transport, session };
    });
  }

  /** Endpoints of the pool, in order. */
  get endpoints(): string[] {
    return this.#entries.map((e) => e.endpoint);
  }

  pick(): EndpointTransport {
    const e = this.#entries[this.#current]!;
    return { endpoint: e.endpoint, transport: e.transport };
  }

  markFailed(endpoint: string): void {
    this.failures.push(endpoint);
    const current = this.#entries[this.#current]!;
    if (current.endpoint !== endpoint) return;
    this.#current = (this.#current + 1) % this.#entries.length;
  }

  async metadata(options: { requireLeader?: boolean } = {}): Promise<Headers> {
    const headers = new Headers();
    if (options.requireLeader ?? true) headers.set("hasleader", "true");
    return headers;
  }

  /** Closes every HTTP/2 connection. */
  close(): void {
    for (const e of this.#entries) e.session.abort();
  }

  async [Symbol.asyncDispose](): Promise<void> {
    this.close();
  }
}

/**
 * connect-node 2.x's session manager can re-arm its PING timer after it has removed its "error" listener
 * (seen around a frozen member): the PING timeout then destroys the HTTP/2 session with an error nobody
 * listens to, an uncaught exception. Every session gets a no-op "error" listener here; the manager's own
 * listeners still see every error while attached, and streams fail as before.
 */
class QuietHttp2SessionManager extends Http2SessionManager {
  readonly #quieted = new WeakSet<http2.Http2Session>();

  override async request(
    method: string,
    path: string,
    headers: http2.OutgoingHttpHeaders,
    options: Omit<http2.ClientSessionRequestOptions, "signal">,
  ): Promise<http2.ClientHttp2Stream> {
    const stream = await super.request(method, path, headers, options);
    const session = stream.session;
    if (session && !this.#quieted.has(session)) {
      this.#quieted.add(session);
      session.on("error", () => {});
    }
    return stream;
  }
}
