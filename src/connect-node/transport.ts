import type { DescMessage, DescMethodStreaming, DescMethodUnary, MessageInitShape } from "@bufbuild/protobuf";
import {
  Code,
  ConnectError,
  type StreamResponse,
  type Transport,
  type UnaryResponse,
} from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import {
  checkOptionsObject,
  classifyFailure,
  isUnavailableFailure,
  markNotSent,
} from "../client/core/index.js";
import {
  connectUnixSocket,
  DEFAULT_KEEPALIVE_TIMEOUT_MS,
  DEFAULT_MAX_RECEIVE_MESSAGE_BYTES,
  DEFAULT_MAX_SEND_MESSAGE_BYTES,
  type EtcdTransportOptions,
  type HeadersInit,
  transportAddress,
  UNIX_AUTHORITY,
} from "../client/transport/index.js";
import { GuardedHttp2SessionManager } from "./session-manager.js";
import { deadlineOf, unaskedCancel } from "./unasked-cancel.js";

/** Options of the connect-node transport: exactly the common transport options. */
export type ConnectNodeTransportOptions = EtcdTransportOptions;

/**
 * A Connect transport over `@connectrpc/connect-node`'s gRPC protocol, with its own HTTP/2 session so that
 * `close()` can end the connection.
 */
export class ConnectNodeTransport implements Transport, AsyncDisposable {
  readonly #session: GuardedHttp2SessionManager;
  readonly #inner: Transport;
  #closed = false;

  /** Prepares the HTTP/2 session (connected lazily, on the first call). */
  constructor(options: ConnectNodeTransportOptions) {
    const address = transportAddress(options.baseUrl, options.tls);
    const tls = options.tls ?? {};
    const keepalive =
      options.keepaliveIntervalMs === undefined
        ? {}
        : {
            pingIntervalMs: options.keepaliveIntervalMs,
            pingTimeoutMs: options.keepaliveTimeoutMs ?? DEFAULT_KEEPALIVE_TIMEOUT_MS,
            pingIdleConnection: options.keepaliveWithoutCalls ?? false,
          };
    const tlsOptions = {
      ...(tls.ca !== undefined && { ca: pem(tls.ca) }),
      ...(tls.cert !== undefined && { cert: pem(tls.cert) }),
      ...(tls.key !== undefined && { key: pem(tls.key) }),
      ...(tls.servername !== undefined && { servername: tls.servername }),
    };
    // Over a unix socket HTTP/2 runs on a socket we open (TLS included for unixs://), to localhost.
    const baseUrl =
      address.kind === "unix" ? `${address.secure ? "https" : "http"}://${UNIX_AUTHORITY}` : options.baseUrl;
    this.#session = new GuardedHttp2SessionManager(
      address.kind === "unix" ? baseUrl : address.parsed,
      keepalive,
      {
        ...tlsOptions,
        ...(address.kind === "unix" && { createConnection: () => connectUnixSocket(address, tlsOptions) }),
      },
    );
    this.#inner = createGrpcTransport({
      baseUrl,
      sessionManager: this.#session,
      writeMaxBytes: options.maxSendMessageBytes ?? DEFAULT_MAX_SEND_MESSAGE_BYTES,
      readMaxBytes: options.maxReceiveMessageBytes ?? DEFAULT_MAX_RECEIVE_MESSAGE_BYTES,
    });
  }

  /** Runs a unary call; see Connect's `Transport.unary`. */
  async unary<I extends DescMessage, O extends DescMessage>(
    method: DescMethodUnary<I, O>,
    signal: AbortSignal | undefined,
    timeoutMs: number | undefined,
    header: HeadersInit | undefined,
    input: MessageInitShape<I>,
  ): Promise<UnaryResponse<I, O>> {
    const deadline = deadlineOf(timeoutMs);
    try {
      return await this.#inner.unary(method, signal, timeoutMs, header, input);
    } catch (error) {
      throw this.#normalize(error, signal, deadline);
    }
  }

  /** Runs a streaming call; see Connect's `Transport.stream`. */
  async stream<I extends DescMessage, O extends DescMessage>(
    method: DescMethodStreaming<I, O>,
    signal: AbortSignal | undefined,
    timeoutMs: number | undefined,
    header: HeadersInit | undefined,
    input: AsyncIterable<MessageInitShape<I>>,
  ): Promise<StreamResponse<I, O>> {
    const deadline = deadlineOf(timeoutMs);
    let response: StreamResponse<I, O>;
    try {
      response = await this.#inner.stream(method, signal, timeoutMs, header, input);
    } catch (error) {
      throw this.#normalize(error, signal, deadline);
    }
    const messages = response.message;
    const normalize = (error: unknown) => this.#normalize(error, signal, deadline);
    return {
      ...response,
      message: (async function* () {
        try {
          yield* messages;
        } catch (error) {
          throw normalize(error);
        }
      })(),
    };
  }

  /** How many HTTP/2 connections calls went out on so far (each reconnect counts). */
  get connectionCount(): number {
    return this.#session.sessionsUsed;
  }

  /** Closes the HTTP/2 connection, ending every open call. */
  async close(): Promise<void> {
    this.#closed = true;
    await this.#session.close();
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  /**
   * Node reports streams of a dropped connection as reset with CANCEL, which connect-node turns into
   * Canceled; when neither the caller's signal nor close() cancelled the call, `unaskedCancel`
   * says what it was (the server gone, or its deadline passed).
   */
  #normalize(error: unknown, signal: AbortSignal | undefined, deadline: number | undefined): unknown {
    const normalized = normalizeError(error);
    if (
      normalized instanceof ConnectError &&
      normalized.code === Code.Canceled &&
      !signal?.aborted &&
      !this.#closed
    ) {
      return unaskedCancel(normalized, deadline, performance.now());
    }
    return normalized;
  }
}

/** Creates a Connect transport that carries calls over `@connectrpc/connect-node` (gRPC over node:http2). */
export function createConnectNodeTransport(options: ConnectNodeTransportOptions): ConnectNodeTransport {
  checkOptionsObject(options, "options", false);
  return new ConnectNodeTransport(options);
}

/**
 * Aligns connect-node's errors with gRPC's client semantics, as grpc-js and grpc-go report them, by the
 * client's failure rule (`classifyFailure`): a call that never got a stream (the session manager marked
 * it: refused connection, failed TLS handshake) is Unavailable and stays marked never-sent; connect-node
 * says Internal for TLS failures. A connection reset by the server or a TLS alert is Unavailable too
 * (connect-node says Aborted or Internal), but not marked: the request may have been written before the
 * connection broke. Canceled and DeadlineExceeded come from the caller and stay.
 */
/** The codes connect-node gives errors of the socket or the HTTP/2 session. */
const FROM_SOCKET: ReadonlySet<Code> = new Set([Code.Aborted, Code.Internal, Code.Unknown]);

function normalizeError(error: unknown): unknown {
  // Only codes connect-node derives from socket errors; Canceled/DeadlineExceeded come from the caller.
  if (!(error instanceof ConnectError) || !FROM_SOCKET.has(error.code)) return error;
  const failure = classifyFailure(error);
  // Never sent (the session manager's mark) is about the connection here, whatever lies under it.
  if (failure.sent && !isUnavailableFailure(failure)) return error;
  const unavailable = new ConnectError(
    error.rawMessage,
    Code.Unavailable,
    error.metadata,
    undefined,
    error.cause ?? error,
  );
  return failure.sent ? unavailable : markNotSent(unavailable);
}

function pem(value: string | Uint8Array): Buffer {
  return typeof value === "string" ? Buffer.from(value, "utf8") : Buffer.from(value);
}
