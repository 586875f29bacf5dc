import type {
  DescMessage,
  DescMethodStreaming,
  DescMethodUnary,
  MessageInitShape,
  MessageShape,
} from "@bufbuild/protobuf";
import { Code, ConnectError, type StreamResponse, type UnaryResponse } from "@connectrpc/connect";
import type { ClosableTransport } from "../closable-transport.js";
import type { HeadersInit } from "../headers-init.js";
import type { EmulatedStream } from "./emulated-stream.js";
import { NotSupportedOverGatewayError } from "./errors.js";
import { decodeJson, encodeJson } from "./json-codec.js";
import { GatewayKeepAliveStream } from "./keepalive-stream.js";
import {
  type GatewayTransportOptions,
  type ResolvedGatewayOptions,
  resolveGatewayOptions,
} from "./options.js";
import { GATEWAY_PATHS, NOT_ON_GATEWAY, rpcName } from "./paths.js";
import { GatewayRequest } from "./request.js";
import { GatewayServerStream } from "./server-stream.js";
import { GatewayWatchStream } from "./watch-stream.js";

/** Metadata the client sends that the gateway takes another way (`token`) or not at all (`hasleader`). */
const TOKEN = "token";
const HAS_LEADER = "hasleader";
/** What answers a watch progress request over the gateway (see `GatewayWatchStream`). */
const STATUS = "etcdserverpb.Maintenance/Status";

/**
 * A transport that speaks etcd's JSON gateway (`POST /v3/...` on a member's client URL) with `fetch`
 * alone: no `node:` module, no HTTP/2, so the client runs where gRPC cannot (browsers, Cloudflare
 * Workers, edge functions, Deno, Bun; Node too). Pass it as `new Etcd({ transport: (ep) =>
 * createGatewayTransport({ baseUrl: ep.url }) })`. Unary calls are one request each; `Watch` and
 * `LeaseKeepAlive` are emulated (a request per watch, a request per refresh) so that watches resume and
 * leases are kept as over gRPC; an RPC the gateway has no path for fails with
 * `NotSupportedOverGatewayError`. Errors carry the gRPC code and message etcd sent, so the client types
 * them as it types a gRPC status. The auth token goes out as the `Authorization` header. docs/web.md says
 * what differs from gRPC.
 */
export function createGatewayTransport(options: GatewayTransportOptions): ClosableTransport {
  return new GatewayTransport(resolveGatewayOptions(options));
}

class GatewayTransport implements ClosableTransport {
  /** Its progress notices are reads of the store's revision: they promise nothing about older events. */
  readonly watchProgressComplete = false;
  readonly #options: ResolvedGatewayOptions;
  /** Requests in flight, aborted by close(). */
  readonly #open = new Set<GatewayRequest>();
  readonly #streams = new Set<EmulatedStream<unknown, unknown>>();
  #closed = false;

  constructor(options: ResolvedGatewayOptions) {
    this.#options = options;
  }

  async unary<I extends DescMessage, O extends DescMessage>(
    method: DescMethodUnary<I, O>,
    signal: AbortSignal | undefined,
    timeoutMs: number | undefined,
    header: HeadersInit | undefined,
    input: MessageInitShape<I>,
  ): Promise<UnaryResponse<I, O>> {
    const rpc = rpcName(method);
    const request = this.#request(
      rpc,
      header,
      signal,
      timeoutMs ?? this.#options.timeoutMs,
      true,
    )(encodeJson(method.input, input));
    try {
      const response = await request.send();
      const message = decodeJson(method.output, await request.json(response), rpc);
      return {
        stream: false,
        service: method.parent,
        method,
        header: response.headers,
        message,
        trailer: new Headers(),
      };
    } finally {
      this.#open.delete(request);
    }
  }

  async stream<I extends DescMessage, O extends DescMessage>(
    method: DescMethodStreaming<I, O>,
    signal: AbortSignal | undefined,
    timeoutMs: number | undefined,
    header: HeadersInit | undefined,
    input: AsyncIterable<MessageInitShape<I>>,
  ): Promise<StreamResponse<I, O>> {
    const rpc = rpcName(method);
    const open = this.#request(rpc, header, undefined, undefined, false);
    let stream: EmulatedStream<MessageInitShape<I>, MessageShape<O>>;
    if (rpc === "etcdserverpb.Watch/Watch") {
      const status = this.#request(STATUS, header, undefined, undefined, false);
      stream = new GatewayWatchStream(open, status, rpc) as unknown as typeof stream;
    } else if (rpc === "etcdserverpb.Lease/LeaseKeepAlive")
      stream = new GatewayKeepAliveStream(open, rpc) as unknown as typeof stream;
    else if (method.methodKind === "server_streaming")
      stream = new GatewayServerStream(open, rpc, method.input, method.output);
    else
      throw new NotSupportedOverGatewayError(
        rpc,
        "the gateway takes one request message per call",
        this.#options.baseUrl,
      );
    // A stream's deadline ends it as a gRPC deadline would.
    const deadline = timeoutMs === undefined ? undefined : AbortSignal.timeout(timeoutMs);
    const ends = signal && deadline ? AbortSignal.any([signal, deadline]) : (signal ?? deadline);
    const erased = stream as unknown as EmulatedStream<unknown, unknown>;
    this.#streams.add(erased);
    const messages = stream.run(input, ends);
    return {
      stream: true,
      service: method.parent,
      method,
      header: new Headers(),
      message: this.#untrack(messages, erased),
      trailer: new Headers(),
    };
  }

  /** Ends every call and stream in flight (CANCELED) and refuses new ones. */
  async close(): Promise<void> {
    this.#closed = true;
    for (const stream of this.#streams) stream.fail(closedError());
    this.#streams.clear();
    for (const request of this.#open) request.cancel();
    this.#open.clear();
  }

  /**
   * A maker of requests of `rpc` with the call's headers: the defaults, then the call's metadata, with
   * the client's `token` as `Authorization` and `hasleader` left out (see docs/web.md); other metadata go
   * as grpc-gateway's `Grpc-Metadata-<key>`. A unary call's request is `tracked` (close() aborts it); a
   * stream's requests are its own (close() fails the stream, which aborts them).
   */
  #request(
    rpc: string,
    header: HeadersInit | undefined,
    signal: AbortSignal | undefined,
    timeoutMs: number | undefined,
    tracked: boolean,
  ): (body: string) => GatewayRequest {
    if (this.#closed) throw closedError();
    const path = GATEWAY_PATHS[rpc];
    if (path === undefined)
      throw new NotSupportedOverGatewayError(
        rpc,
        NOT_ON_GATEWAY[rpc] ?? "the gateway has no path for it",
        this.#options.baseUrl,
      );
    const headers = this.#headers(header);
    const url = this.#options.baseUrl + path;
    const fetch = this.#options.fetch;
    return (body) => {
      if (this.#closed) throw closedError();
      const request = new GatewayRequest({ fetch, url, rpc, body, headers, signal, timeoutMs });
      if (tracked) this.#open.add(request);
      return request;
    };
  }

  #headers(header: HeadersInit | undefined): Headers {
    const headers = new Headers(this.#options.headers);
    headers.set("content-type", "application/json");
    if (header === undefined) return headers;
    for (const [key, value] of new Headers(header)) {
      if (key === TOKEN) headers.set("authorization", this.#options.bearer ? `Bearer ${value}` : value);
      else if (key !== HAS_LEADER) headers.set(`grpc-metadata-${key}`, value);
    }
    return headers;
  }

  /** The stream's messages; the transport forgets the stream once they end. */
  async *#untrack<T>(messages: AsyncIterable<T>, stream: EmulatedStream<unknown, unknown>): AsyncIterable<T> {
    try {
      yield* messages;
    } finally {
      this.#streams.delete(stream);
    }
  }
}

/** What a call through a closed transport, or one in flight when it closed, fails with: CANCELED. */
function closedError(): ConnectError {
  return new ConnectError("the gateway transport is closed", Code.Canceled);
}
