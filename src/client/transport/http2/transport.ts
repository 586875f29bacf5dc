import type { DescMessage, DescMethodStreaming, DescMethodUnary, MessageInitShape } from "@bufbuild/protobuf";
import {
  Code,
  ConnectError,
  type StreamResponse,
  type Transport,
  type UnaryResponse,
} from "@connectrpc/connect";
import { DeadlineQueue } from "../../core/deadline-queue.js";
import { markNotSent } from "../../core/failure.js";
import type { HeadersInit } from "../headers-init.js";
import { closedError } from "./call-outcome.js";
import type { SessionConnector } from "./connection.js";
import { Http2Endpoint } from "./endpoint.js";
import { encodeFrame } from "./framing.js";
import { type Http2TransportOptions, resolveHttp2Options } from "./options.js";
import { RequestHeaderCache } from "./request-headers.js";
import { StreamCall } from "./stream-call.js";
import { StreamSlots } from "./stream-slots.js";
import type { TransportCore } from "./transport-core.js";
import { UnaryCall } from "./unary-call.js";

/** A Connect `Transport` speaking gRPC over one HTTP/2 endpoint, which must be closed when done. */
export interface Http2Transport extends Transport, AsyncDisposable {
  /** Closes every session (calls in flight fail with Unavailable) and clears every timer. */
  close(): Promise<void>;
  /** How many HTTP/2 sessions it has opened so far (each reconnect counts). */
  readonly connectionCount: number;
  /**
   * Sends an HTTP/2 PING on every session that carries calls (sharing a ping in flight, and never closer
   * than 5.5 s to the previous one, as etcd's default `--grpc-keepalive-min-time` of 5 s requires): true
   * when all were answered within `timeoutMs` of leaving, false when one was not. Tears nothing down (the
   * keepalive timeout does, when keepalive is on). Never rejects.
   */
  checkConnection(timeoutMs: number): Promise<boolean>;
}

/**
 * Creates the gRPC-over-HTTP/2 transport: `node:http2` directly, one lazily connected session per
 * endpoint that reconnects on demand, keepalive pings, a stream cap with queueing, TLS and mTLS.
 * Errors are `ConnectError`s with the gRPC code and the server's message and metadata; connection
 * failures are Unavailable, marked not-sent (see `wasNotSent`) when the request provably never left.
 * @throws Http2TransportOptionsError for invalid options.
 */
export function createHttp2Transport(options: Http2TransportOptions): Http2Transport {
  return new GrpcHttp2Transport(options);
}

/**
 * The transport over the sessions `connectSession` opens (default `node:http2`'s): the h2-net transport
 * is this one over its own HTTP/2 sessions on `node:net`, so both share every gRPC mechanism above the
 * session (calls, deadlines, slots, keepalive, reconnects, the failure marks).
 * @throws Http2TransportOptionsError for invalid options.
 */
export function createGrpcTransport(
  options: Http2TransportOptions,
  connectSession: SessionConnector,
): Http2Transport {
  return new GrpcHttp2Transport(options, connectSession);
}

class GrpcHttp2Transport implements Http2Transport, TransportCore {
  readonly options;
  readonly endpoint: Http2Endpoint;
  readonly slots: StreamSlots;
  readonly requestHeaders: RequestHeaderCache;
  readonly deadlines = new DeadlineQueue();

  constructor(options: Http2TransportOptions, connectSession?: SessionConnector) {
    this.options = resolveHttp2Options(options);
    const clientCap = this.options.maxConcurrentStreams;
    this.endpoint = new Http2Endpoint(this.options, () => this.slots.pump(), connectSession);
    this.slots = new StreamSlots(() => Math.min(clientCap, this.endpoint.remoteMaxStreams));
    this.requestHeaders = new RequestHeaderCache(this.options.userAgent);
  }

  unary<I extends DescMessage, O extends DescMessage>(
    method: DescMethodUnary<I, O>,
    signal: AbortSignal | undefined,
    timeoutMs: number | undefined,
    header: HeadersInit | undefined,
    input: MessageInitShape<I>,
  ): Promise<UnaryResponse<I, O>> {
    if (this.endpoint.closed) return Promise.reject(closedError(true));
    let frame: Uint8Array;
    try {
      frame = encodeFrame(method.input, input, this.options.maxSendMessageBytes);
    } catch (err) {
      return Promise.reject(markNotSent(ConnectError.from(err, Code.Internal)));
    }
    const deadline = timeoutMs ?? this.options.defaultTimeoutMs;
    return new Promise<UnaryResponse<I, O>>((resolve, reject) => {
      new UnaryCall(
        this,
        method as unknown as DescMethodUnary,
        signal,
        deadline,
        header,
        frame,
        resolve as (response: UnaryResponse) => void,
        reject,
      ).start();
    });
  }

  stream<I extends DescMessage, O extends DescMessage>(
    method: DescMethodStreaming<I, O>,
    signal: AbortSignal | undefined,
    timeoutMs: number | undefined,
    header: HeadersInit | undefined,
    input: AsyncIterable<MessageInitShape<I>>,
  ): Promise<StreamResponse<I, O>> {
    if (this.endpoint.closed) return Promise.reject(closedError(true));
    const deadline = timeoutMs ?? this.options.defaultTimeoutMs;
    const response = new Promise<StreamResponse<I, O>>((resolve, reject) => {
      new StreamCall(
        this,
        method as unknown as DescMethodStreaming,
        signal,
        deadline,
        header,
        input as AsyncIterable<MessageInitShape<DescMessage>>,
        resolve as (response: StreamResponse) => void,
        reject,
      ).start();
    });
    // Connect's clients await this promise only once the output is iterated; a failure before that
    // must not surface as an unhandled rejection. The caller still gets it when awaiting.
    response.catch(() => {});
    return response;
  }

  get connectionCount(): number {
    return this.endpoint.opened;
  }

  checkConnection(timeoutMs: number): Promise<boolean> {
    if (this.endpoint.closed) return Promise.resolve(true);
    return this.endpoint.checkConnections(timeoutMs);
  }

  async close(): Promise<void> {
    const waiting = this.slots.drain();
    await this.endpoint.close();
    // Queued calls never got a stream; `onSlot` sees the closed endpoint and fails them as not sent.
    for (const waiter of waiting) waiter.onSlot();
    // The calls have ended (their streams were destroyed, queued ones failed just above) and removed
    // their deadlines; this clears the shared deadline timer.
    this.deadlines.close();
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }
}
