import type { DescMessage, DescMethodStreaming, DescMethodUnary, MessageInitShape } from "@bufbuild/protobuf";
import {
  Code,
  ConnectError,
  type StreamResponse,
  type Transport,
  type UnaryResponse,
} from "@connectrpc/connect";
import { createGrpcTransport, type Http2SessionManager } from "@connectrpc/connect-node";
import { markNotSent } from "../client/transport/not-sent.js";
import {
  DEFAULT_KEEPALIVE_TIMEOUT_MS,
  DEFAULT_MAX_RECEIVE_MESSAGE_BYTES,
  DEFAULT_MAX_SEND_MESSAGE_BYTES,
  type EtcdTransportOptions,
} from "../client/transport/transport-options.js";
import { GuardedHttp2SessionManager } from "./session-manager.js";

/** Options of the connect-node transport: exactly the common transport options. */
export type ConnectNodeTransportOptions = EtcdTransportOptions;

/**
 * Socket errors that prove the request never left: the TCP connection itself could not be made, so no
 * HTTP/2 stream existed.
 */
const NOT_SENT_SOCKET_ERRORS = new Set(["ECONNREFUSED", "EHOSTUNREACH", "ENETUNREACH", "EADDRNOTAVAIL"]);

/** Socket errors of a connection that was up and broke: the server went away (gRPC: UNAVAILABLE). */
const CONNECTION_LOST_ERRORS = new Set([
  "ECONNRESET",
  "EPIPE",
  "ERR_HTTP2_SESSION_ERROR",
  "ERR_HTTP2_STREAM_ERROR",
]);

/**
 * A Connect transport over `@connectrpc/connect-node`'s gRPC protocol, with its own HTTP/2 session so that
 * `close()` can end the connection.
 */
export class ConnectNodeTransport implements Transport, AsyncDisposable {
  readonly #session: Http2SessionManager;
  readonly #inner: Transport;

  /** Prepares the HTTP/2 session (connected lazily, on the first call). */
  constructor(options: ConnectNodeTransportOptions) {
    const url = new URL(options.baseUrl);
    if (url.protocol !== "http:" && url.protocol !== "https:") {
      throw new TypeError(`baseUrl must start with http:// or https://, got ${options.baseUrl}`);
    }
    if (url.protocol === "http:" && options.tls) {
      throw new TypeError(`tls is set but baseUrl ${options.baseUrl} is http://`);
    }
    const tls = options.tls ?? {};
    const keepalive =
      options.keepaliveIntervalMs === undefined
        ? {}
        : {
            pingIntervalMs: options.keepaliveIntervalMs,
            pingTimeoutMs: options.keepaliveTimeoutMs ?? DEFAULT_KEEPALIVE_TIMEOUT_MS,
            pingIdleConnection: options.keepaliveWithoutCalls ?? false,
          };
    this.#session = new GuardedHttp2SessionManager(url, keepalive, {
      ...(tls.ca !== undefined && { ca: pem(tls.ca) }),
      ...(tls.cert !== undefined && { cert: pem(tls.cert) }),
      ...(tls.key !== undefined && { key: pem(tls.key) }),
      ...(tls.servername !== undefined && { servername: tls.servername }),
    });
    this.#inner = createGrpcTransport({
      baseUrl: options.baseUrl,
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
    try {
      return await this.#inner.unary(method, signal, timeoutMs, header, input);
    } catch (error) {
      throw normalizeError(error);
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
    let response: StreamResponse<I, O>;
    try {
      response = await this.#inner.stream(method, signal, timeoutMs, header, input);
    } catch (error) {
      throw normalizeError(error);
    }
    return { ...response, message: normalizeErrors(response.message) };
  }

  /** Closes the HTTP/2 connection, ending every open call. */
  async close(): Promise<void> {
    this.#session.abort();
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }
}

/** Creates a Connect transport that carries calls over `@connectrpc/connect-node` (gRPC over node:http2). */
export function createConnectNodeTransport(options: ConnectNodeTransportOptions): ConnectNodeTransport {
  return new ConnectNodeTransport(options);
}

/**
 * Aligns connect-node's errors with gRPC's client semantics: a connection reset by the server is
 * Unavailable (connect-node reports Aborted, a code meant for its server side), and a connection that
 * could not be made is marked as never sent.
 */
function normalizeError(error: unknown): unknown {
  if (!(error instanceof ConnectError)) return error;
  const codes = new Set<string>();
  for (let e: unknown = error.cause, depth = 0; e instanceof Error && depth < 8; e = e.cause, depth++) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code !== undefined) codes.add(code);
  }
  let result = error;
  if (error.code === Code.Aborted && [...codes].some((c) => CONNECTION_LOST_ERRORS.has(c))) {
    result = new ConnectError(error.rawMessage, Code.Unavailable, error.metadata, undefined, error.cause);
  }
  if (result.code === Code.Unavailable && [...codes].some((c) => NOT_SENT_SOCKET_ERRORS.has(c))) {
    markNotSent(result);
  }
  return result;
}

/** Passes `messages` through, normalizing the error that ends them. */
async function* normalizeErrors<T>(messages: AsyncIterable<T>): AsyncIterable<T> {
  try {
    yield* messages;
  } catch (error) {
    throw normalizeError(error);
  }
}

function pem(value: string | Uint8Array): Buffer {
  return typeof value === "string" ? Buffer.from(value, "utf8") : Buffer.from(value);
}
