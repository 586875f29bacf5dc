import { constants, type IncomingHttpHeaders } from "node:http2";
import type { DescMessage, DescMethodUnary, DescService, MessageShape } from "@bufbuild/protobuf";
import type { UnaryResponse } from "@connectrpc/connect";
import { Code, ConnectError } from "@connectrpc/connect";
import { messageCodec } from "../codec/message-codec.js";
import type { HeadersInit } from "../headers-init.js";
import { errorOfEndedStream, type ResponseParts, statusError } from "./call-outcome.js";
import { OpeningCall } from "./call-start.js";
import { PREFIX_BYTES, unaryMessageFromBody } from "./framing.js";
import type { GrpcStream } from "./grpc-session.js";
import { headersFromHttp2 } from "./metadata.js";
import type { TransportCore } from "./transport-core.js";

/** Where a stream finds its call: the stream listeners are shared functions, not closures per call. */
const CALL = Symbol("etcd-ts.http2.unaryCall");
type UnaryStream = GrpcStream & { [CALL]: UnaryCall };

/**
 * One unary call, kept lean: the request is framed in one buffer and written with `end()` right after the
 * headers, the stream's listeners are shared module functions, the abort listener and deadline timer
 * point at this object, and response headers become `Headers` only if someone reads them.
 */
export class UnaryCall extends OpeningCall<DescMethodUnary> implements ResponseParts {
  #frame: Uint8Array | undefined;
  readonly #resolve: (response: UnaryResponse) => void;
  readonly #reject: (error: ConnectError) => void;
  #body: Buffer | Buffer[] | undefined;
  #received = 0;
  #streamError: Error | undefined;
  headers: IncomingHttpHeaders | undefined;
  trailers: IncomingHttpHeaders | undefined;
  trailersOnly = false;

  constructor(
    core: TransportCore,
    method: DescMethodUnary,
    signal: AbortSignal | undefined,
    timeoutMs: number | undefined,
    header: HeadersInit | undefined,
    frame: Uint8Array,
    resolve: (response: UnaryResponse) => void,
    reject: (error: ConnectError) => void,
  ) {
    super(core, method, signal, timeoutMs, header);
    this.#frame = frame;
    this.#resolve = resolve;
    this.#reject = reject;
  }

  /** The stream is open: listen with the shared functions and send the request. */
  protected opened(opened: GrpcStream): void {
    const stream = opened as UnaryStream;
    stream[CALL] = this;
    stream.on("response", onResponse);
    stream.on("data", onData);
    stream.on("trailers", onTrailers);
    stream.on("error", onError);
    stream.on("close", onClose);
    stream.end(this.#frame);
    this.#frame = undefined;
  }

  /** @internal */
  onResponse(headers: IncomingHttpHeaders, flags: number): void {
    this.headers = headers;
    if (flags & constants.NGHTTP2_FLAG_END_STREAM) this.trailersOnly = true;
  }

  /** @internal */
  onData(chunk: Buffer): void {
    const body = this.#body;
    if (body === undefined) this.#body = chunk;
    else if (Array.isArray(body)) body.push(chunk);
    else this.#body = [body, chunk];
    this.#received += chunk.byteLength;
    const limit = this.core.options.maxReceiveMessageBytes;
    if (this.#received > limit + PREFIX_BYTES) {
      this.cancel(
        new ConnectError(`received message exceeds the limit of ${limit} bytes`, Code.ResourceExhausted),
      );
    }
  }

  /** @internal */
  onError(err: Error): void {
    this.#streamError ??= err;
  }

  /** @internal The stream is done: release it and settle from what arrived. */
  onClose(): void {
    this.connection!.release();
    this.core.slots.release();
    if (this.over) return;
    const error = statusError(this);
    if (error === "no-status") {
      this.fail(errorOfEndedStream(this.stream!, this.connection!, this.#streamError, this.deadline));
      return;
    }
    if (error !== undefined) {
      this.fail(error);
      return;
    }
    let message: MessageShape<DescMessage>;
    try {
      const bytes = unaryMessageFromBody(this.#body, this.core.options.maxReceiveMessageBytes);
      message = messageCodec(this.method.output).decode(bytes);
    } catch (err) {
      this.fail(ConnectError.from(err, Code.Internal));
      return;
    }
    this.over = true;
    this.#cleanup();
    this.#resolve(new UnaryResult(this.method, message, this.headers, this.trailers));
  }

  /** Ends the call with `error` (once). */
  protected fail(error: ConnectError): void {
    if (this.over) return;
    this.over = true;
    this.#cleanup();
    this.#reject(error);
  }

  #cleanup(): void {
    this.release();
    this.#frame = undefined;
    this.#body = undefined;
  }
}

function onResponse(this: UnaryStream, headers: IncomingHttpHeaders, flags: number): void {
  this[CALL].onResponse(headers, flags);
}
function onData(this: UnaryStream, chunk: Buffer): void {
  this[CALL].onData(chunk);
}
function onTrailers(this: UnaryStream, trailers: IncomingHttpHeaders): void {
  this[CALL].trailers = trailers;
}
function onError(this: UnaryStream, err: Error): void {
  this[CALL].onError(err);
}
function onClose(this: UnaryStream): void {
  this[CALL].onClose();
}

/** A successful unary response; `header` and `trailer` are converted to `Headers` on first access. */
class UnaryResult implements UnaryResponse {
  readonly stream = false;
  readonly method: DescMethodUnary;
  readonly message: MessageShape<DescMessage>;
  readonly #rawHeader: IncomingHttpHeaders | undefined;
  readonly #rawTrailer: IncomingHttpHeaders | undefined;
  #header: Headers | undefined;
  #trailer: Headers | undefined;

  constructor(
    method: DescMethodUnary,
    message: MessageShape<DescMessage>,
    header: IncomingHttpHeaders | undefined,
    trailer: IncomingHttpHeaders | undefined,
  ) {
    this.method = method;
    this.message = message;
    this.#rawHeader = header;
    this.#rawTrailer = trailer;
  }

  get service(): DescService {
    return this.method.parent;
  }

  get header(): Headers {
    this.#header ??= headersFromHttp2(this.#rawHeader);
    return this.#header;
  }

  get trailer(): Headers {
    this.#trailer ??= headersFromHttp2(this.#rawTrailer);
    return this.#trailer;
  }
}
