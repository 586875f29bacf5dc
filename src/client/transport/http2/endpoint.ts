import { Http2Connection, type SessionConnector } from "./connection.js";
import { Http2ConnectionError } from "./errors.js";
import type { ResolvedHttp2Options } from "./options.js";

/**
 * The HTTP/2 sessions to one endpoint: the current one, which new calls use and which is created on demand
 * (lazily at first, again after a GOAWAY, an error or a close), plus retired ones that still finish their
 * calls.
 */
export class Http2Endpoint {
  readonly #options: ResolvedHttp2Options;
  readonly #onSettings: () => void;
  readonly #connectSession: SessionConnector | undefined;
  readonly #connections = new Set<Http2Connection>();
  #current: Http2Connection | undefined;
  #opened = 0;
  #closed = false;
  readonly #owner = {
    onRetired: (connection: Http2Connection) => {
      if (this.#current === connection) this.#current = undefined;
    },
    onClosed: (connection: Http2Connection) => {
      if (this.#current === connection) this.#current = undefined;
      this.#connections.delete(connection);
    },
    onSettings: () => this.#onSettings(),
  };

  /**
   * `onSettings` runs whenever a server announces SETTINGS (the stream limit may have changed);
   * `connectSession` opens the sessions (default: `node:http2`'s `connect`).
   */
  constructor(options: ResolvedHttp2Options, onSettings: () => void, connectSession?: SessionConnector) {
    this.#options = options;
    this.#onSettings = onSettings;
    this.#connectSession = connectSession;
  }

  /** True after {@link close}. */
  get closed(): boolean {
    return this.#closed;
  }

  /** How many sessions were opened so far (each reconnect counts). */
  get opened(): number {
    return this.#opened;
  }

  /** The connection for a new call, connecting a new session when there is no usable one. */
  connection(): Http2Connection {
    const current = this.#current;
    if (current?.usable) return current;
    const fresh = new Http2Connection(this.#options, this.#owner, this.#connectSession);
    this.#opened++;
    this.#current = fresh;
    this.#connections.add(fresh);
    return fresh;
  }

  /** The stream limit the server set on the current session (unlimited when there is none). */
  get remoteMaxStreams(): number {
    return this.#current?.remoteMaxStreams ?? Number.POSITIVE_INFINITY;
  }

  /**
   * Pings every session that carries calls (see `Http2Connection.check`): true when all answered within
   * `timeoutMs` (or none carries calls), false when one did not.
   */
  async checkConnections(timeoutMs: number): Promise<boolean> {
    const checks: Promise<boolean>[] = [];
    for (const connection of this.#connections)
      if (connection.carriesCalls) checks.push(connection.check(timeoutMs));
    return (await Promise.all(checks)).every(Boolean);
  }

  /** Destroys every session (calls on them fail) and waits until their sockets are closed. */
  async close(): Promise<void> {
    this.#closed = true;
    const closing: Promise<void>[] = [];
    for (const connection of this.#connections) {
      // A session already destroyed is not waited for: some never emit "close" (a TLS handshake that
      // never completed, a refused client certificate), and close() must not hang on them.
      const session = connection.session;
      if (!session.destroyed) closing.push(new Promise((resolve) => session.once("close", () => resolve())));
      connection.destroy(new Http2ConnectionError("TRANSPORT_CLOSED", "the transport was closed"));
    }
    this.#current = undefined;
    await Promise.all(closing);
  }
}
