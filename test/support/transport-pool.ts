import type { Interceptor } from "@connectrpc/connect";
import { createGrpcTransport, type Http2SessionManager } from "@connectrpc/connect-node";
import type { EndpointTransport, TransportPool } from "../../src/client/connection/transport-pool.js";
import { GuardedHttp2SessionManager } from "../../src/connect-node/session-manager.js";

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
      const session = new GuardedHttp2SessionManager(
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
