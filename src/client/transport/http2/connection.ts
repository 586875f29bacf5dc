import { connect, type OutgoingHttpHeaders, type SecureClientSessionOptions } from "node:http2";
import type { Duplex } from "node:stream";
import type { ConnectError } from "@connectrpc/connect";
import { connectUnixSocket } from "../unix-socket.js";
import { describeCause, Http2ConnectionError, unavailableError } from "./errors.js";
import type { GrpcSession, GrpcStream } from "./grpc-session.js";
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

/** A call that got its stream slot and waits for the connection to become ready. */
export interface ReadyWaiter {
  /** The server's SETTINGS arrived: the call may open its stream now. */
  onReady(): void;
  /** The connection failed before it was ready; `error` is Unavailable, marked not sent. */
  onConnectFailed(error: ConnectError): void;
}

/**
 * Opens an HTTP/2 session: `node:http2`'s `connect`, or another implementation of the part of
 * `ClientHttp2Session` this file uses (the h2-net transport's, on `node:net`): a `GrpcSession`.
 */
export type SessionConnector = (authority: string, options: SecureClientSessionOptions) => GrpcSession;

/** `node:http2`'s `connect`: its `ClientHttp2Session` is a `GrpcSession`. */
const connectNodeSession: SessionConnector = (authority, options) => connect(authority, options);

/** Options of every request: the body follows (Node copies the object, so one frozen instance serves all). */
const REQUEST_OPTIONS = Object.freeze({ endStream: false });

/** Per-stream flow-control window we announce; larger than the 64 KiB default so big ranges stream fast. */
const STREAM_WINDOW_BYTES = 1024 * 1024;
/** Connection-wide flow-control window. */
const SESSION_WINDOW_BYTES = 16 * 1024 * 1024;

/**
 * One HTTP/2 session to the endpoint: connects lazily (the first request waits for it, up to the
 * server's SETTINGS), enforces the connect timeout over TCP, TLS and that handshake, runs keepalive,
 * counts calls in flight (an idle session is unref'd so it does not keep the process alive) and retires
 * itself on GOAWAY or error so new calls go to a fresh session, while calls already on it finish or fail.
 */
export class Http2Connection implements KeepaliveHost {
  readonly session: GrpcSession;
  readonly #owner: ConnectionOwner;
  readonly #options: ResolvedHttp2Options;
  #connectTimer: NodeJS.Timeout | undefined;
  readonly #keepalive: KeepaliveMonitor;
  #active = 0;
  #remoteMaxStreams = Number.POSITIVE_INFINITY;
  #retired = false;
  /**
   * The server's first SETTINGS arrived. Calls open their streams only then (as grpc-js and grpc-go
   * do): until a server has spoken HTTP/2 nothing is sent to it, so giving up on it is always safe.
   */
  #ready = false;
  /** Calls waiting for {@link ready}; each counts as in flight (keeps the session ref'd). */
  readonly #waiters = new Set<ReadyWaiter>();
  /** The raw socket, once connected: see {@link destroy}. */
  #socket: Duplex | undefined;
  /** Why the transport itself tore the session down, if it did; calls report it as their cause. */
  #failure: Error | undefined;
  /** The last error the session reported (ECONNREFUSED, ECONNRESET, ...). */
  #sessionError: Error | undefined;

  constructor(
    options: ResolvedHttp2Options,
    owner: ConnectionOwner,
    connectSession: SessionConnector = connectNodeSession,
  ) {
    this.#options = options;
    this.#owner = owner;
    const address = options.address;
    const tls = tlsConnectOptions(options.tls);
    const connectOptions: SecureClientSessionOptions = {
      settings: { enablePush: false, initialWindowSize: STREAM_WINDOW_BYTES },
      ...tls,
      // A unix socket (unix://, unixs://): we open it, TLS included; the rest is the same.
      ...(address.kind === "unix" ? { createConnection: () => connectUnixSocket(address, tls) } : {}),
    };
    this.session = connectSession(options.authority, connectOptions);
    const session = this.session;
    session.unref();
    session.on("error", (err) => {
      this.#sessionError = err;
    });
    session.on("frameError", () => {
      // The affected stream gets its own error; listening keeps the event from being unhandled.
    });
    session.once("connect", (_session, socket) => {
      // TCP (and TLS) are up; the connect timer runs on until the server's SETTINGS arrive.
      this.#socket = socket;
      // A socket error while Node has a write pending (a TLS alert right after the handshake, e.g. a
      // refused client certificate) destroys the session, but its 'close' waits for that write forever.
      // Destroying the socket completes the teardown: 'close' follows, and waiting calls fail at once.
      socket.once("error", () => {
        if (!socket.destroyed) socket.destroy();
      });
      try {
        session.setLocalWindowSize(SESSION_WINDOW_BYTES);
      } catch {
        // A session that died meanwhile; its close handling follows.
      }
    });
    session.on("remoteSettings", (settings) => {
      // Cached: reading session.remoteSettings goes to native code and allocates, too slow per call.
      this.#remoteMaxStreams = settings.maxConcurrentStreams ?? Number.POSITIVE_INFINITY;
      if (!this.#ready) this.#becomeReady();
      this.#owner.onSettings();
    });
    session.on("goaway", () => this.#retire());
    session.once("close", () => {
      this.#retire();
      this.#stopTimers();
      this.#owner.onClosed(this);
    });
    this.#connectTimer = setTimeout(() => {
      const stage =
        this.#socket !== undefined
          ? "the server sent no HTTP/2 SETTINGS"
          : options.secure
            ? "the TCP or TLS handshake did not complete"
            : "the TCP connection was not established";
      this.destroy(
        new Http2ConnectionError(
          "CONNECT_TIMEOUT",
          `could not connect to ${options.origin} within ${options.connectTimeoutMs} ms (connectTimeoutMs): ${stage}`,
        ),
      );
    }, options.connectTimeoutMs);
    this.#connectTimer.unref();
    // Always there: with keepalive off (interval 0) it still answers liveness checks.
    this.#keepalive = new KeepaliveMonitor(this, options.keepaliveIntervalMs, options.keepaliveTimeoutMs);
  }

  /** The endpoint, for messages. */
  get origin(): string {
    return this.#options.origin;
  }

  /** True while the connection takes new calls. */
  get usable(): boolean {
    return !this.#retired && !this.session.closed && !this.session.destroyed;
  }

  /**
   * True once the server's SETTINGS arrived (TCP, TLS and the HTTP/2 handshake done). Streams are opened
   * only on a ready connection: before that no byte of any request has left.
   */
  get ready(): boolean {
    return this.#ready;
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
   * Queues a call until the connection is {@link ready} (`onReady`) or fails first (`onConnectFailed`,
   * with a not-sent error). The call counts as in flight meanwhile; only for a connection not yet ready.
   */
  whenReady(waiter: ReadyWaiter): void {
    this.#waiters.add(waiter);
    if (this.#active++ === 0) this.session.ref();
  }

  /** Takes a call out of the wait for {@link ready} (it was cancelled); false when it was not waiting. */
  cancelWait(waiter: ReadyWaiter): boolean {
    if (!this.#waiters.delete(waiter)) return false;
    this.release();
    return true;
  }

  /**
   * Opens a stream for one call and counts it in flight until {@link release}. Only on a ready connection.
   * @throws whatever `session.request` throws (destroyed session, invalid header).
   */
  open(headers: OutgoingHttpHeaders): GrpcStream {
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

  /** True while calls run on a ready, live session: what a liveness check looks at. */
  get carriesCalls(): boolean {
    return this.#ready && this.#active > 0 && !this.session.destroyed;
  }

  /**
   * Is the connection alive? An HTTP/2 PING (shared with keepalive and spaced as etcd requires, see
   * {@link KeepaliveMonitor.check}): true once answered, false when the ack took longer than
   * `timeoutMs`. It only reports: the keepalive timeout, if on, decides to tear the connection down.
   */
  check(timeoutMs: number): Promise<boolean> {
    return this.#keepalive.check(timeoutMs);
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
    // Until the connection is ready, the connect timer watches it.
    return this.#ready && (this.#active > 0 || this.#options.keepaliveWithoutCalls);
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

  #becomeReady(): void {
    this.#ready = true;
    clearTimeout(this.#connectTimer);
    this.#connectTimer = undefined;
    // A Set, so a waiter cancelled by another's onReady is skipped; each waiter's hold is released once
    // its stream is open (which holds the session in turn).
    for (const waiter of this.#waiters) {
      this.#waiters.delete(waiter);
      waiter.onReady();
      this.release();
    }
  }

  /** Fails the calls still waiting for a connection that will never be ready. */
  #failWaiters(): void {
    const cause = this.failure;
    for (const waiter of this.#waiters) {
      this.#waiters.delete(waiter);
      // Our own reasons (connect timeout, close) already say what happened and where.
      const error =
        cause instanceof Http2ConnectionError
          ? unavailableError(cause.message, cause, true)
          : unavailableError(`could not connect to ${this.origin}: ${describeCause(cause)}`, cause, true);
      waiter.onConnectFailed(error);
      this.release();
    }
  }

  #retire(): void {
    if (this.#retired) return;
    this.#retired = true;
    this.#owner.onRetired(this);
    if (!this.#ready) this.#failWaiters();
    if (this.#active === 0 && !this.session.closed && !this.session.destroyed) this.session.close();
  }

  #stopTimers(): void {
    clearTimeout(this.#connectTimer);
    this.#connectTimer = undefined;
    this.#keepalive.stop();
  }
}

/** Node's TLS options want Buffers or strings; callers may hand us any Uint8Array. */
export function tlsConnectOptions(tls: Http2TlsOptions | undefined): SecureClientSessionOptions {
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
