import {
  create,
  type DescMessage,
  type DescMethodStreaming,
  type DescMethodUnary,
  isMessage,
  type MessageInitShape,
  type MessageShape,
} from "@bufbuild/protobuf";
import {
  type ContextValues,
  createContextValues,
  type Interceptor,
  type StreamRequest,
  type StreamResponse,
  type UnaryRequest,
  type UnaryResponse,
} from "@connectrpc/connect";
import type { ClosableTransport } from "../transport/closable-transport.js";
import type { HeadersInit } from "../transport/headers-init.js";

type AnyFn = Parameters<Interceptor>[0];

/**
 * Puts the user's Connect interceptors (the client's `interceptors` option) in front of any transport,
 * so the default transport, grpc-js and connect-node all honour them the same way and in one place. Each
 * call becomes a Connect `UnaryRequest` or `StreamRequest` (its headers a `Headers`, its messages full
 * messages) that runs through the chain, the first interceptor outermost, as Connect's own transports do;
 * the innermost step hands what the chain made of it to `transport`.
 */
export function interceptTransport(
  transport: ClosableTransport,
  baseUrl: string,
  interceptors: readonly Interceptor[],
): ClosableTransport {
  return new InterceptedTransport(transport, baseUrl, interceptors);
}

class InterceptedTransport implements ClosableTransport {
  readonly #inner: ClosableTransport;
  readonly #baseUrl: string;
  readonly #interceptors: readonly Interceptor[];
  /** The signal of a call that has none (a Connect request always carries one). */
  readonly #noSignal = new AbortController().signal;

  constructor(inner: ClosableTransport, baseUrl: string, interceptors: readonly Interceptor[]) {
    this.#inner = inner;
    this.#baseUrl = baseUrl;
    this.#interceptors = interceptors;
  }

  unary<I extends DescMessage, O extends DescMessage>(
    method: DescMethodUnary<I, O>,
    signal: AbortSignal | undefined,
    timeoutMs: number | undefined,
    header: HeadersInit | undefined,
    input: MessageInitShape<I>,
    contextValues?: ContextValues,
  ): Promise<UnaryResponse<I, O>> {
    const request: UnaryRequest<I, O> = {
      ...this.#common(method, signal, header, contextValues),
      stream: false,
      method,
      message: toMessage(method.input, input),
    };
    const send: AnyFn = (req) => {
      const r = req as UnaryRequest<I, O>;
      return this.#inner.unary(r.method, r.signal, timeoutMs, r.header, r.message, r.contextValues);
    };
    return this.#chain(send)(request) as Promise<UnaryResponse<I, O>>;
  }

  stream<I extends DescMessage, O extends DescMessage>(
    method: DescMethodStreaming<I, O>,
    signal: AbortSignal | undefined,
    timeoutMs: number | undefined,
    header: HeadersInit | undefined,
    input: AsyncIterable<MessageInitShape<I>>,
    contextValues?: ContextValues,
  ): Promise<StreamResponse<I, O>> {
    const request: StreamRequest<I, O> = {
      ...this.#common(method, signal, header, contextValues),
      stream: true,
      method,
      message: toMessages(method.input, input),
    };
    const send: AnyFn = (req) => {
      const r = req as StreamRequest<I, O>;
      return this.#inner.stream(r.method, r.signal, timeoutMs, r.header, r.message, r.contextValues);
    };
    const response = this.#chain(send)(request) as Promise<StreamResponse<I, O>>;
    // As the transports do: a failure before the output is iterated must not be an unhandled rejection.
    response.catch(() => {});
    return response;
  }

  close(): Promise<void> {
    return this.#inner.close();
  }

  get connectionCount(): number | undefined {
    return this.#inner.connectionCount;
  }

  get watchProgressComplete(): boolean | undefined {
    return this.#inner.watchProgressComplete;
  }

  /** The inner transport's check, when it has one (a PING is no RPC: interceptors do not see it). */
  get checkConnection(): ((timeoutMs: number) => Promise<boolean>) | undefined {
    const inner = this.#inner;
    return inner.checkConnection && ((timeoutMs) => inner.checkConnection!(timeoutMs));
  }

  /** What a unary and a stream request share. */
  #common(
    method: DescMethodUnary | DescMethodStreaming,
    signal: AbortSignal | undefined,
    header: HeadersInit | undefined,
    contextValues: ContextValues | undefined,
  ) {
    return {
      service: method.parent,
      requestMethod: "POST",
      url: `${this.#baseUrl}/${method.parent.typeName}/${method.name}`,
      signal: signal ?? this.#noSignal,
      header: new Headers(header),
      contextValues: contextValues ?? createContextValues(),
    };
  }

  /** `send` wrapped by every interceptor, the first of the list outermost (Connect's order). */
  #chain(send: AnyFn): AnyFn {
    let next = send;
    for (let i = this.#interceptors.length - 1; i >= 0; i--) next = this.#interceptors[i]!(next);
    return next;
  }
}

function toMessage<M extends DescMessage>(schema: M, init: MessageInitShape<M>): MessageShape<M> {
  return isMessage(init, schema) ? (init as MessageShape<M>) : create(schema, init);
}

/** The stream's requests as full messages, read from `input` only as the transport reads them. */
async function* toMessages<M extends DescMessage>(
  schema: M,
  input: AsyncIterable<MessageInitShape<M>>,
): AsyncGenerator<MessageShape<M>> {
  for await (const init of input) yield toMessage(schema, init);
}
