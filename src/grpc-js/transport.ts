import type {
  DescMessage,
  DescMethodStreaming,
  DescMethodUnary,
  MessageInitShape,
  MessageShape,
} from "@bufbuild/protobuf";
import type { StreamResponse, UnaryResponse } from "@connectrpc/connect";
import { Code, ConnectError, type Transport } from "@connectrpc/connect";
import { type CallOptions, type Client, type Metadata, status as Status } from "@grpc/grpc-js";
import { checkOptionsObject, markNotSent } from "../client/core/index.js";
import type { HeadersInit } from "../client/transport/index.js";
import { createChannelClient, type GrpcJsTransportOptions } from "./channel.js";
import { deserializer, methodPath, serializer } from "./codec.js";
import { ReadyCounter } from "./connection-count.js";
import { headersFromMetadata, metadataFromHeaders } from "./metadata.js";
import { abortError, connectErrorFromStatus } from "./status-error.js";
import { type CancellableCall, startStreamingCall } from "./streaming-call.js";

/** A Connect transport over one grpc-js channel; `close()` cancels open calls and closes the channel. */
export class GrpcJsTransport implements Transport, AsyncDisposable {
  readonly #client: Client;
  readonly #ready: ReadyCounter;
  readonly #active = new Set<CancellableCall>();
  #closed = false;

  /** Opens (lazily) a grpc-js channel to `options.baseUrl`. */
  constructor(options: GrpcJsTransportOptions) {
    this.#client = createChannelClient(options);
    this.#ready = new ReadyCounter(this.#client.getChannel());
  }

  /** How many connections the channel has made so far (each time it became READY). */
  get connectionCount(): number {
    return this.#ready.count;
  }

  /** Runs a unary call. Errors are ConnectErrors with the server's gRPC code and raw message. */
  unary<I extends DescMessage, O extends DescMessage>(
    method: DescMethodUnary<I, O>,
    signal: AbortSignal | undefined,
    timeoutMs: number | undefined,
    header: HeadersInit | undefined,
    input: MessageInitShape<I>,
  ): Promise<UnaryResponse<I, O>> {
    return new Promise((resolve, reject) => {
      const refused = this.#refuse(signal);
      if (refused) return reject(refused);
      let metadata: Metadata;
      try {
        metadata = metadataFromHeaders(header);
      } catch (error) {
        return reject(error);
      }
      let message: MessageShape<O> | undefined;
      let responseHeader = new Headers();
      const call = this.#client.makeUnaryRequest(
        methodPath(method),
        serializer(method.input),
        deserializer(method.output),
        input,
        metadata,
        callOptions(timeoutMs),
        (_error, value) => {
          message = value;
        },
      );
      const release = this.#track(call, signal);
      call.on("metadata", (metadata) => {
        responseHeader = headersFromMetadata(metadata);
      });
      // grpc-js emits "status" after the callback, so `message` is set by then.
      call.on("status", (status) => {
        release();
        if (status.code !== Status.OK) return reject(connectErrorFromStatus(status, signal));
        if (message === undefined) return reject(new ConnectError("no response message", Code.Unimplemented));
        resolve({
          stream: false,
          service: method.parent,
          method,
          header: responseHeader,
          trailer: headersFromMetadata(status.metadata),
          message,
        });
      });
    });
  }

  /**
   * Runs a streaming call. Resolves once the server sent its response headers (or ended the call);
   * the request messages are sent as `input` yields them, and ending `input` half-closes the call.
   */
  stream<I extends DescMessage, O extends DescMessage>(
    method: DescMethodStreaming<I, O>,
    signal: AbortSignal | undefined,
    timeoutMs: number | undefined,
    header: HeadersInit | undefined,
    input: AsyncIterable<MessageInitShape<I>>,
  ): Promise<StreamResponse<I, O>> {
    const refused = this.#refuse(signal);
    if (refused) return Promise.reject(refused);
    return startStreamingCall(this.#client, {
      method,
      signal,
      header,
      input,
      options: callOptions(timeoutMs),
      track: (call) => this.#track(call, signal),
    });
  }

  /** Cancels every open call and closes the channel. Later calls fail with Unavailable. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    for (const call of this.#active) call.cancel();
    this.#active.clear();
    this.#client.close();
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  /** The error a call must fail with before it starts, if any. */
  #refuse(signal: AbortSignal | undefined): ConnectError | undefined {
    if (signal?.aborted) return abortError(signal);
    // Nothing was sent, so a pool may safely retry the call on another transport.
    if (this.#closed) return markNotSent(new ConnectError("transport is closed", Code.Unavailable));
    return undefined;
  }

  /** Registers an open call (for close()) and wires `signal` to cancel it; returns the cleanup. */
  #track(call: CancellableCall, signal: AbortSignal | undefined): () => void {
    this.#active.add(call);
    const onAbort = () => call.cancel();
    signal?.addEventListener("abort", onAbort, { once: true });
    return () => {
      this.#active.delete(call);
      signal?.removeEventListener("abort", onAbort);
    };
  }
}

/** Creates a Connect transport that carries calls over `@grpc/grpc-js`. */
export function createGrpcJsTransport(options: GrpcJsTransportOptions): GrpcJsTransport {
  checkOptionsObject(options, "options", false);
  return new GrpcJsTransport(options);
}

function callOptions(timeoutMs: number | undefined): CallOptions {
  return timeoutMs === undefined ? {} : { deadline: Date.now() + timeoutMs };
}
