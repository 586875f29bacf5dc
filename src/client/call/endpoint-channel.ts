import type {
  DescMessage,
  DescMethodStreaming,
  DescMethodUnary,
  MessageInitShape,
  MessageShape,
} from "@bufbuild/protobuf";
import { Code, type Interceptor } from "@connectrpc/connect";
import { Maintenance } from "../../gen/etcdserverpb/rpc_pb.js";
import type { AuthTokenSource } from "../auth/token.js";
import { DeadlineExceededError, type EtcdError, InvalidAuthTokenError, toEtcdError } from "../core/errors.js";
import { isUnavailable } from "../core/failure.js";
import type { ClosableTransport } from "../transport/closable-transport.js";
import type { CallSpec } from "./call-spec.js";
import { EndpointServer } from "./endpoint-server.js";
import { interceptTransport } from "./intercepted-transport.js";

/** Caller metadata sent with one call (beside what the pipeline adds). */
export type CallMetadata = Readonly<Record<string, string>>;

/** A stream opened through an {@link EndpointChannel}. */
export interface OpenedStream<O extends DescMessage> {
  /** The server's messages; a failure is typed with {@link EndpointChannel.failure}. */
  readonly messages: AsyncIterable<MessageShape<O>>;
  /** The auth token the stream carries (fixed for its whole life), if auth is on. */
  readonly token: string | undefined;
}

/**
 * The call pipeline of one endpoint: every RPC of the client, unary or stream, passes through here and
 * nowhere else builds headers or handles tokens. It attaches the auth token (authenticating first when
 * none is held), `hasleader` when the client's `requireLeader` is on and the call is not
 * {@link CallSpec.hasleader} says otherwise, and the caller's metadata; on an invalid or
 * expired token it refreshes the token once and retries a unary call once (a stream's owner reopens the
 * stream instead: its token is fixed when it opens; a fixed `auth.token` is never refreshed, its refusal
 * is the call's error); and every failure leaves it as an `EtcdError` naming
 * the endpoint, with the transport's error as `cause`. Retries across endpoints are the caller's job.
 * The user's Connect interceptors (the `interceptors` option) wrap the transport underneath, so they see
 * every RPC of the endpoint, unary or stream, `Authenticate` included, with the headers added here.
 * It also keeps what is known about the server behind the endpoint ({@link server}: its version, asked
 * through this same pipeline), forgotten when a call finds the connection gone.
 */
export class EndpointChannel {
  /** The endpoint URL, e.g. `http://127.0.0.1:2379`. */
  readonly endpoint: string;
  /** The transport underneath, behind the user's interceptors if any (closed with the pool). */
  readonly transport: ClosableTransport;
  /**
   * The server behind this endpoint: its version from `Maintenance/Status`, asked once per connection
   * (with the token under auth, as etcd 3.5.28+/3.6.9+ require). Behaviour that depends on the server's
   * version asks here.
   */
  readonly server: EndpointServer;
  readonly #auth: AuthTokenSource | undefined;
  /** Deadline of an `Authenticate` a stream needs before it opens, ms. */
  readonly #authTimeoutMs: number;
  /** The client's `requireLeader` option: send `hasleader` unless the call's spec says otherwise. */
  readonly #requireLeader: boolean;
  #headerToken: string | undefined;
  #leaderHeaders: CallMetadata = Object.freeze({ hasleader: "true" });
  #plainHeaders: CallMetadata = Object.freeze({});

  constructor(
    endpoint: string,
    transport: ClosableTransport,
    auth: AuthTokenSource | undefined,
    authTimeoutMs: number,
    requireLeader: boolean,
    interceptors: readonly Interceptor[] = [],
  ) {
    this.#requireLeader = requireLeader;
    this.endpoint = endpoint;
    this.transport =
      interceptors.length === 0 ? transport : interceptTransport(transport, endpoint, interceptors);
    this.#auth = auth;
    this.#authTimeoutMs = authTimeoutMs;
    this.server = new EndpointServer(
      (signal, timeoutMs) => this.call(statusSpec(signal), {}, timeoutMs).then((res) => res.version),
      () => this.transport.connectionCount,
    );
  }

  /**
   * Is the endpoint's connection alive? Where the transport can tell (the default transport: an HTTP/2
   * PING on the connections that carry calls, not seen by interceptors), its answer; else (grpc-js,
   * connect-node, a transport of your own) a `Maintenance/Status` call with `timeoutMs` as deadline, where
   * any answer of the server counts, an error status too. Resolves false when nothing answered within
   * `timeoutMs`, true otherwise (also when `signal` aborted first, or no token could be had: no verdict
   * on the endpoint). Never rejects.
   */
  checkConnection(timeoutMs: number, signal?: AbortSignal): Promise<boolean> {
    if (this.transport.checkConnection) return this.transport.checkConnection(timeoutMs);
    return this.call(statusSpec(signal), {}, timeoutMs).then(
      () => true,
      (err: unknown) => {
        if (signal?.aborted) return true;
        const code = (err as { code?: unknown }).code;
        return !(code === Code.DeadlineExceeded || code === Code.Unavailable);
      },
    );
  }

  /**
   * Runs one unary call. With auth on, a call whose token the server finds invalid gets a fresh token and
   * runs once more within the same `timeoutMs`. Rejects with a typed `EtcdError`; when obtaining a token
   * failed, the error is marked not-sent (the call itself never left).
   */
  call<I extends DescMessage, O extends DescMessage>(
    spec: CallSpec<DescMethodUnary<I, O>>,
    input: MessageInitShape<I>,
    timeoutMs: number,
  ): Promise<MessageShape<O>> {
    const auth = this.#auth;
    const token = auth?.current;
    const requireLeader = spec.hasleader ?? this.#requireLeader;
    // Without auth, or with a token in hand, the first attempt is a plain promise chain (the hot path).
    if (auth === undefined || token !== undefined) {
      const started = auth === undefined ? 0 : Date.now();
      return this.#send(
        spec,
        input,
        timeoutMs,
        this.headers(requireLeader, token, spec.options?.metadata),
      ).catch((err: unknown) => {
        const error = toEtcdError(err, this.endpoint);
        if (auth === undefined || !auth.refreshable || !(error instanceof InvalidAuthTokenError)) throw error;
        auth.invalidate(token);
        const remaining = timeoutMs - (Date.now() - started);
        return this.#authenticatedCall(spec, input, remaining, requireLeader, true);
      });
    }
    return this.#authenticatedCall(spec, input, timeoutMs, requireLeader, false);
  }

  /**
   * Opens a stream with the pipeline's headers (authenticating first when auth is on and no token is
   * held). `signal` is the stream's own (it ends the stream), not necessarily `spec.options.signal`. Rejects with a typed `EtcdError`. Failures while reading `messages` go through {@link failure}.
   */
  async open<I extends DescMessage, O extends DescMessage>(
    spec: CallSpec<DescMethodStreaming<I, O>>,
    input: AsyncIterable<MessageInitShape<I>>,
    signal: AbortSignal | undefined,
  ): Promise<OpenedStream<O>> {
    const { method } = spec;
    const metadata = spec.options?.metadata;
    const requireLeader = spec.hasleader ?? this.#requireLeader;
    const token = await this.#token(signal, this.#authTimeoutMs);
    try {
      const res = await this.transport.stream(
        method,
        signal,
        undefined,
        this.headers(requireLeader, token, metadata),
        input,
      );
      return { messages: res.message, token };
    } catch (err) {
      throw this.failure(err, token);
    }
  }

  /**
   * Types a stream's failure (`EtcdError` naming the endpoint). When the server found the stream's
   * `token` invalid, the token is dropped, so the reopened stream authenticates again.
   */
  failure(err: unknown, token: string | undefined): EtcdError {
    const error = toEtcdError(err, this.endpoint);
    if (error instanceof InvalidAuthTokenError) this.tokenRejected(token);
    else if (isUnavailable(error)) this.server.forget();
    return error;
  }

  /**
   * False when a token the server refused cannot be replaced (a fixed `auth.token`): a stream's owner
   * then ends its work with the refusal instead of reopening. True without auth and with refreshing auth.
   */
  get tokenRefreshable(): boolean {
    return this.#auth?.refreshable !== false;
  }

  /**
   * The server refused `token` in a way that is not a call failure (a watch create canceled with
   * "invalid auth token"): drop it, so the next call or stream authenticates again.
   */
  tokenRejected(token: string | undefined): void {
    this.#auth?.invalidate(token);
  }

  /**
   * Headers for a call (cached per token when no metadata is given; do not mutate): `token` when auth
   * is on, `hasleader` when `requireLeader`, then the caller's metadata.
   */
  headers(requireLeader: boolean, token: string | undefined, metadata?: CallMetadata): CallMetadata {
    if (token !== this.#headerToken) {
      this.#headerToken = token;
      // Frozen: the transport may then reuse the headers it built from them (RequestHeaderCache).
      const plain: Record<string, string> = token === undefined ? {} : { token };
      this.#plainHeaders = Object.freeze(plain);
      this.#leaderHeaders = Object.freeze({ ...plain, hasleader: "true" });
    }
    const base = requireLeader ? this.#leaderHeaders : this.#plainHeaders;
    return metadata === undefined ? base : { ...metadata, ...base };
  }

  async #authenticatedCall<I extends DescMessage, O extends DescMessage>(
    spec: CallSpec<DescMethodUnary<I, O>>,
    input: MessageInitShape<I>,
    timeoutMs: number,
    requireLeader: boolean,
    refreshed: boolean,
  ): Promise<MessageShape<O>> {
    const auth = this.#auth!;
    const signal = spec.options?.signal;
    for (;;) {
      const started = Date.now();
      if (timeoutMs <= 0) {
        throw new DeadlineExceededError("deadline exceeded while re-authenticating", {
          code: Code.DeadlineExceeded,
          endpoint: this.endpoint,
        });
      }
      const token = await this.#token(signal, timeoutMs);
      const remaining = timeoutMs - (Date.now() - started);
      try {
        return await this.#send(
          spec,
          input,
          remaining,
          this.headers(requireLeader, token, spec.options?.metadata),
        );
      } catch (err) {
        const error = toEtcdError(err, this.endpoint);
        if (refreshed || !auth.refreshable || !(error instanceof InvalidAuthTokenError)) throw error;
        // The token expired or was issued by another member: authenticate once more and retry once.
        refreshed = true;
        auth.invalidate(token);
        timeoutMs -= Date.now() - started;
      }
    }
  }

  /** The token to send (authenticating first when none is held), or undefined without auth. */
  #token(signal: AbortSignal | undefined, timeoutMs: number): Promise<string | undefined> {
    const auth = this.#auth;
    if (auth === undefined) return Promise.resolve(undefined);
    const current = auth.current;
    if (current !== undefined) return Promise.resolve(current);
    return auth.obtain(this.transport, this.endpoint, signal, timeoutMs);
  }

  /** Hands one request to the transport (the one place a unary request leaves), telling `spec.onSend` first. */
  #send<I extends DescMessage, O extends DescMessage>(
    spec: CallSpec<DescMethodUnary<I, O>>,
    input: MessageInitShape<I>,
    timeoutMs: number,
    headers: CallMetadata,
  ): Promise<MessageShape<O>> {
    let response: ReturnType<ClosableTransport["unary"]>;
    try {
      spec.onSend?.();
      response = this.transport.unary(spec.method, spec.options?.signal, timeoutMs, headers, input);
    } catch (err) {
      // A user-supplied transport may throw instead of rejecting; judge it the same.
      return Promise.reject(err);
    }
    return (response as unknown as Promise<{ message: MessageShape<O> }>).then(messageOf, this.#sendFailed);
  }

  /**
   * A call failed: when the connection is gone (refused, lost), so is what is known about the server
   * behind it (transports that count their connections tell the server about new ones too).
   */
  readonly #sendFailed = (err: unknown): never => {
    if (isUnavailable(err)) this.server.forget();
    throw err;
  };
}

function messageOf<M>(res: { message: M }): M {
  return res.message;
}

/** A `Maintenance/Status` call about this member itself: answered without a leader (no `hasleader`). */
function statusSpec(signal: AbortSignal | undefined): CallSpec<typeof Maintenance.method.status> {
  return { method: Maintenance.method.status, options: { signal }, hasleader: false };
}
