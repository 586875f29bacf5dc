import {
  type ClientHttp2Session,
  type ClientHttp2Stream,
  connect,
  type OutgoingHttpHeaders,
  type SecureClientSessionOptions,
} from "node:http2";
import type { Duplex } from "node:stream";
import { Http2ConnectionError } from "./errors.js";
import { type KeepaliveHost, KeepaliveMonitor } from "./keepalive.js";
import type { Http2TlsOptions, PemInput, ResolvedHttp2Options } from "./options.js";

/** What a connection tells its owner. */
export interface ConnectionOwner {
  /** The connection takes no new calls any more (GOAWAY, error, close): the next call needs a new one. */
  onRetired(connection: Http2Connection): void;
  /** The connection is fully closed and can be forgotten. */
  onClosed(connection: Http2Connection): void;
  /** The server announced (new) SETTINGS, e.g. a different stream limit. */
  onSettings(): void;
}

/** Options of every request: the body follows (Node copies the object, so one frozen instance serves all). */
const REQUEST_OPTIONS = Object.freeze({ endStream: false });

/** Per-stream flow-control window we announce; larger than the 64 KiB default so big ranges stream fast. */
const STREAM_WINDOW_BYTES = 1024 * 1024;
/** Connection-wide flow-control window. */
const SESSION_WINDOW_BYTES = 16 * 1024 * 1024;

/**
 * One HTTP/2 session to the endpoint: connects lazily (the first request waits for it), enforces the
 * connect timeout, runs keepalive, counts calls in flight (an idle session is unref'd so it does not keep
 * the process alive) and retires itself on GOAWAY or error so new calls go to a fresh session, while
 * calls already on it finish or fail.
 */
export class Http2Connection implements KeepaliveHost {
  readonly session: ClientHttp2Session;
  readonly #owner: ConnectionOwner;
  readonly #options: ResolvedHttp2Options;
  #connectTimer: NodeJS.Timeout | undefined;
  #keepalive: KeepaliveMonitor | undefined;
  #active = 0;
  #remoteMaxStreams = Number.POSITIVE_INFINITY;
  #retired = false;
  #connected = false;
  /** The raw socket, once connected: see {@link destroy}. */
  #socket: Duplex | undefined;
  /** Why the transport itself tore the session down, if it did; calls report it as their cause. */
  #failure: Error | undefined;
  /** The last error the session reported (ECONNREFUSED, ECONNRESET, ...). */
  #sessionError: Error | undefined;

  constructor(options: ResolvedHttp2Options, owner: ConnectionOwner) {
    this.#options = options;
    this.#owner = owner;
    const connectOptions: SecureClientSessionOptions = {
      settings: { enablePush: false, initialWindowSize: STREAM_WINDOW_BYTES },
      ...tlsConnectOptions(options.tls),
    };
    this.session = connect(options.origin, connectOptions);
    const session = this.session;
    session.unref();
    session.on("error", (err) => {
      this.#sessionError = err;
    });
    session.on("frameError", () => {
      // The affected stream gets its own error; listening keeps the event from being unhandled.
    });
    session.once("connect", (_session, socket) => {
      this.#socket = socket;
      this.#connected = true;
      clearTimeout(this.#connectTimer);
      this.#connectTimer = undefined;
      try {
        session.setLocalWindowSize(SESSION_WINDOW_BYTES);
      } catch {
        // A session that died meanwhile; its close handling follows.
      }
    });
    session.on("remoteSettings", (settings) => {
      // Cached: reading session.remoteSettings goes to native code and allocates, too slow per call.
      this.#remoteMaxStreams = settings.maxConcurrentStreams ?? Number.POSITIVE_INFINITY;
      this.#owner.onSettings();
    });
    session.on("goaway", () => this.#retire());
    session.once("close", () => {
      this.#retire();
      this.#stopTimers();
      this.#owner.onClosed(this);
    });
    this.#connectTimer = setTimeout(() => {
      this.destroy(
        new Http2ConnectionError(
          "CONNECT_TIMEOUT",
          `could not connect to ${options.origin} within ${options.connectTimeoutMs} ms`,
        ),
      );
    }, options.connectTimeoutMs);
    this.#connectTimer.unref();
    if (options.keepaliveIntervalMs > 0) {
      this.#keepalive = new KeepaliveMonitor(this, options.keepaliveIntervalMs, options.keepaliveTimeoutMs);
    }
  }

  /** The endpoint, for messages. */
  get origin(): string {
    return this.#options.origin;
  }

  /** True while the connection takes new calls. */
  get usable(): boolean {
    return !this.#retired && !this.session.closed && !this.session.destroyed;
  }

  /** True once the session connected; before that no byte of any request can have left. */
  get connected(): boolean {
    return this.#connected;
  }

  /** Why the session failed: the transport's own reason (timeouts, close) or the session's error. */
  get failure(): Error | undefined {
    return this.#failure ?? this.#sessionError;
  }

  /** True when the session is destroyed: streams that ended without a status ended because of that. */
  get gone(): boolean {
    return this.session.destroyed;
  }

  /** The server's SETTINGS_MAX_CONCURRENT_STREAMS (unlimited until it said otherwise). */
  get remoteMaxStreams(): number {
    return this.#remoteMaxStreams;
  }

  /**
   * Opens a stream for one call and counts it in flight until {@link release}.
   * @throws whatever `session.request` throws (destroyed session, invalid header).
   */
  open(headers: OutgoingHttpHeaders): ClientHttp2Stream {
    const stream = this.session.request(headers, REQUEST_OPTIONS);
    if (this.#active++ === 0) this.session.ref();
    return stream;
  }

  /** Ends the in-flight count of a call whose stream closed. */
  release(): void {
    if (--this.#active === 0) {
      if (!this.session.destroyed) this.session.unref();
      // A retired session that still ran calls is closed once they are done.
      if (this.#retired && !this.session.closed && !this.session.destroyed) this.session.close();
    }
  }

  /** Tears the session down at once; calls on it fail with `reason` as cause. */
  destroy(reason: Error): void {
    this.#failure ??= reason;
    this.#retire();
    this.#stopTimers();
    if (!this.session.destroyed) this.session.destroy();
    // After a graceful session.close() (GOAWAY, retirement), Node's destroy() only end()s the socket and
    // waits for the peer's FIN, which a dead or partitioned peer never sends: the socket, and close(), would
    // hang. Destroying the socket ourselves makes the teardown final.
    if (this.#socket && !this.#socket.destroyed) this.#socket.destroy();
  }

  /** @internal KeepaliveHost: ping while calls run, or always when configured so. */
  wantsKeepalive(): boolean {
    return this.#active > 0 || this.#options.keepaliveWhileIdle;
  }

  /** @internal KeepaliveHost: the ping went unanswered, so the connection is dead. */
  onKeepaliveTimeout(timeoutMs: number): void {
    this.destroy(
      new Http2ConnectionError(
        "KEEPALIVE_TIMEOUT",
        `no answer to a keepalive ping from ${this.#options.origin} within ${timeoutMs} ms`,
      ),
    );
  }

  #retire(): void {
    if (this.#retired) return;
    this.#retired = true;
    this.#owner.onRetired(this);
    if (this.#active === 0 && !this.session.closed && !this.session.destroyed) this.session.close();
  }

  #stopTimers(): void {
    clearTimeout(this.#connectTimer);
    this.#connectTimer = undefined;
    this.#keepalive?.stop();
  }
}

/** Node's TLS options want Buffers or strings; callers may hand us any Uint8Array. */
function tlsConnectOptions(tls: Http2TlsOptions | undefined): SecureClientSessionOptions {
  if (!tls) return {};
  const one = (x: string | Uint8Array): string | Buffer =>
    typeof x === "string" || Buffer.isBuffer(x) ? x : Buffer.from(x);
  const pem = (v: PemInput | undefined) =>
    v === undefined ? undefined : Array.isArray(v) ? v.map(one) : one(v);
  const { ca, cert, key, ...rest } = tls;
  return {
    ...rest,
    ...(ca !== undefined ? { ca: pem(ca) } : {}),
    ...(cert !== undefined ? { cert: pem(cert) } : {}),
    ...(key !== undefined ? { key: pem(key) } : {}),
  };
}
