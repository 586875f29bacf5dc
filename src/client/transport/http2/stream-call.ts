import { constants, type IncomingHttpHeaders } from "node:http2";
import type {
  DescMessage,
  DescMethodStreaming,
  DescService,
  MessageInitShape,
  MessageShape,
} from "@bufbuild/protobuf";
import { Code, ConnectError, type StreamResponse } from "@connectrpc/connect";
import { AsyncQueue } from "../../core/async-queue.js";
import { bufferedMessages, type PushedMessages } from "../../core/buffered-messages.js";
import { type MessageCodec, messageCodec } from "../codec/message-codec.js";
import type { HeadersInit } from "../headers-init.js";
import { errorOfEndedStream, type ResponseParts, statusError } from "./call-outcome.js";
import { OpeningCall } from "./call-start.js";
import { encodeFrame, MessageDecoder, plainBytes } from "./framing.js";
import type { GrpcStream } from "./grpc-session.js";
import { headersFromHttp2 } from "./metadata.js";
import type { TransportCore } from "./transport-core.js";

type Output = MessageShape<DescMessage>;

/** Messages buffered for a slow consumer before the stream is paused (HTTP/2 flow control then holds the server). */
const HIGH_WATER_MESSAGES = 64;
/** Requests already queued are joined into one write up to this many bytes (then the next write). */
const MAX_JOINED_WRITE_BYTES = 64 * 1024;

/**
 * One streaming call (server, client or bidi). Request messages are written as the input yields them and
 * the stream is half-closed when it ends; responses are queued for the output iterator. The returned
 * promise resolves once the response headers arrive. Aborting the signal, the deadline, `return()` on
 * the output and transport close all reset the stream (CANCEL) and release everything; a consumer
 * waiting in `next()` then gets the error (Canceled, DeadlineExceeded, ...).
 */
export class StreamCall
  extends OpeningCall<DescMethodStreaming>
  implements ResponseParts, AsyncIterableIterator<Output>, PushedMessages<Output>
{
  readonly #codec: MessageCodec;
  readonly #input: AsyncIterable<MessageInitShape<DescMessage>>;
  readonly #resolve: (response: StreamResponse) => void;
  readonly #reject: (error: ConnectError) => void;
  readonly #decoder: MessageDecoder;
  readonly #trailer = new Headers();
  #streamError: Error | undefined;
  /** The response promise is settled (resolved with headers, or rejected). */
  #responded = false;
  /** Responses not yet read; its end (or error) follows them. */
  readonly #output = new Responses();
  /** Set by {@link deliverTo}: gets each message instead of the queue and the waiters. */
  #sink: ((message: Output) => void) | undefined;
  /** The call no longer reads its input (see `#nextInput`). */
  #inputStopped = false;
  /** Settles the pending `#nextInput` wait with "stopped". */
  #wakeInput: ((result: undefined) => void) | undefined;
  headers: IncomingHttpHeaders | undefined;
  trailers: IncomingHttpHeaders | undefined;
  trailersOnly = false;

  constructor(
    core: TransportCore,
    method: DescMethodStreaming,
    signal: AbortSignal | undefined,
    timeoutMs: number | undefined,
    header: HeadersInit | undefined,
    input: AsyncIterable<MessageInitShape<DescMessage>>,
    resolve: (response: StreamResponse) => void,
    reject: (error: ConnectError) => void,
  ) {
    super(core, method, signal, timeoutMs, header);
    this.#codec = messageCodec(method.output);
    this.#input = input;
    this.#resolve = resolve;
    this.#reject = reject;
    this.#decoder = new MessageDecoder(core.options.maxReceiveMessageBytes);
  }

  /** The stream is open: listen to it and start sending the input. */
  protected opened(stream: GrpcStream): void {
    this.#output.stream = stream;
    stream.on("response", (headers, flags) => this.#onResponse(headers, flags));
    stream.on("data", (chunk: Buffer) => this.#onData(chunk));
    stream.on("trailers", (trailers) => {
      this.trailers = trailers;
      headersFromHttp2(trailers, this.#trailer);
    });
    stream.on("error", (err) => {
      this.#streamError ??= err;
    });
    stream.on("close", () => this.#onClose());
    void this.#pumpInput(stream);
  }

  /** The next response message; rejects with the call's error once, then reports done. */
  next(): Promise<IteratorResult<Output>> {
    return this.#output.next();
  }

  /**
   * Hands every response to `onMessage` as it arrives, those queued first (see {@link PushedMessages}):
   * no promise per message. {@link next} then reports only the end or the error.
   */
  deliverTo(onMessage: (message: Output) => void): void {
    this.#sink = onMessage;
    const queued: Output[] = [];
    while (this.#output.length > 0) queued.push(this.#output.take()!);
    for (const message of queued) onMessage(message);
    if (this.stream?.isPaused()) this.stream.resume();
  }

  /** Stops consuming: cancels the call if it still runs, and drops what was queued. */
  return(): Promise<IteratorResult<Output>> {
    // A reader already waiting in `next()` gets the Canceled error; otherwise nobody reads it.
    const waiting = this.#output.waiting;
    this.#output.clear();
    this.cancel(new ConnectError("the stream was closed by its consumer", Code.Canceled));
    if (!waiting) this.#output.takeError();
    return Promise.resolve({ value: undefined, done: true });
  }

  [Symbol.asyncIterator](): AsyncIterableIterator<Output> {
    return this;
  }

  #onResponse(headers: IncomingHttpHeaders, flags: number): void {
    this.headers = headers;
    if (flags & constants.NGHTTP2_FLAG_END_STREAM) {
      this.trailersOnly = true;
      headersFromHttp2(headers, this.#trailer);
      const error = statusError(this);
      if (error === undefined) this.#respond();
      // Errors (and a missing status) are settled when the stream closes.
      return;
    }
    if (Number(headers[":status"]) !== 200) return;
    this.#respond();
  }

  #respond(): void {
    if (this.#responded) return;
    this.#responded = true;
    const response: StreamResponse = {
      stream: true,
      service: this.method.parent as DescService,
      method: this.method,
      header: headersFromHttp2(this.headers),
      message: this,
      trailer: this.#trailer,
    };
    this.#resolve(response);
  }

  #onData(chunk: Buffer): void {
    if (this.over) return;
    try {
      this.#decoder.push(chunk, (bytes) => this.#onMessage(this.#codec.decode(plainBytes(bytes)) as Output));
    } catch (err) {
      this.cancel(ConnectError.from(err, Code.Internal));
    }
  }

  #onMessage(message: Output): void {
    if (this.#sink !== undefined) {
      // The sink may have ended the call (a stream abandoned) while this chunk still held messages.
      if (!this.over) this.#sink(message);
      return;
    }
    this.#output.push(message);
  }

  #onClose(): void {
    this.connection!.release();
    this.core.slots.release();
    if (this.over) return;
    const error = statusError(this);
    if (error === "no-status") {
      this.#finish(errorOfEndedStream(this.stream!, this.connection!, this.#streamError, this.deadline));
      return;
    }
    if (error === undefined && !this.#decoder.idle) {
      this.#finish(new ConnectError("protocol error: truncated response message", Code.Internal));
      return;
    }
    this.#finish(error);
  }

  async #pumpInput(stream: GrpcStream): Promise<void> {
    let iterator: AsyncIterator<MessageInitShape<DescMessage>> | undefined;
    try {
      iterator = this.#input[Symbol.asyncIterator]();
      const buffered = bufferedMessages<MessageInitShape<DescMessage>>(this.#input);
      const schema = this.method.input;
      const limit = this.core.options.maxSendMessageBytes;
      for (;;) {
        const result = await this.#nextInput(iterator);
        if (result === undefined) {
          stopIterator(iterator);
          return;
        }
        if (result.done) break;
        if (this.over || stream.destroyed) {
          stopIterator(iterator);
          return;
        }
        let frame = encodeFrame(schema, result.value, limit);
        // Requests queued behind this one (keepalives that came due together) go out in the same
        // write: one HTTP/2 write and one promise round instead of one each.
        let more = buffered?.takeBuffered();
        if (more !== undefined) {
          const frames = [frame];
          let bytes = frame.byteLength;
          while (more !== undefined) {
            const next = encodeFrame(schema, more, limit);
            frames.push(next);
            bytes += next.byteLength;
            more = bytes < MAX_JOINED_WRITE_BYTES ? buffered!.takeBuffered() : undefined;
          }
          frame = Buffer.concat(frames, bytes);
        }
        if (!stream.write(frame)) await drained(stream);
      }
      if (!this.over && !stream.destroyed) stream.end();
    } catch (err) {
      if (iterator !== undefined) stopIterator(iterator);
      this.cancel(ConnectError.from(err, Code.Internal));
    }
  }

  /**
   * The input's next message, or undefined once the call stopped reading. Not `Promise.race` against
   * one long-lived "stopped" promise: every race leaves a reaction on that promise, which keeps each
   * race's result (the request message) alive until the stream ends (nodejs/node#17469): 1 KB+ per
   * request on a watch or keepalive stream that lives for hours.
   */
  #nextInput(
    iterator: AsyncIterator<MessageInitShape<DescMessage>>,
  ): Promise<IteratorResult<MessageInitShape<DescMessage>> | undefined> {
    if (this.#inputStopped) return Promise.resolve(undefined);
    const next = iterator.next();
    return new Promise((resolve, reject) => {
      this.#wakeInput = resolve;
      next.then(
        (result) => {
          this.#wakeInput = undefined;
          resolve(result);
        },
        (err: unknown) => {
          this.#wakeInput = undefined;
          reject(err);
        },
      );
    });
  }

  /** A local cancel ends the output at once: queued messages are dropped. */
  protected override cancelled(): void {
    this.#output.clear();
  }

  /** Ends the call with `error` (once). */
  protected fail(error: ConnectError): void {
    this.#finish(error);
  }

  /** Ends the call once: settles the response promise or the output, and releases timers and listeners. */
  #finish(error: ConnectError | undefined): void {
    if (this.over) return;
    this.over = true;
    this.release();
    this.#inputStopped = true;
    const wake = this.#wakeInput;
    this.#wakeInput = undefined;
    wake?.(undefined);
    if (!this.#responded) {
      if (error !== undefined) {
        this.#responded = true;
        this.#reject(error);
        // The error went to the response promise: the output (never handed out) just ends.
        this.#output.end();
        return;
      }
      this.#respond();
    }
    // Messages still queued are read first; the error (or the end) follows them, to one reader.
    this.#output.end(error);
  }
}

/**
 * A call's responses, read through `next()`: the stream is paused once {@link HIGH_WATER_MESSAGES}
 * wait unread (HTTP/2 flow control then holds the server) and resumed once they were all read.
 */
class Responses extends AsyncQueue<Output> {
  /** The call's stream, once open. */
  stream: GrpcStream | undefined;

  constructor() {
    super(HIGH_WATER_MESSAGES - 1, 0);
  }

  protected override filled(): void {
    this.stream?.pause();
  }

  protected override drained(): void {
    if (this.stream?.isPaused()) this.stream.resume();
  }
}

/** Tells an input iterator we stop reading; it may be stuck in `next()`, so this does not wait. */
function stopIterator(iterator: AsyncIterator<unknown>): void {
  try {
    const result = iterator.return?.();
    if (result !== undefined) result.then(undefined, () => {});
  } catch {
    // The input's own cleanup failed; the call is over either way.
  }
}

/** Resolves when the stream can take more data, or closed. */
function drained(stream: GrpcStream): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      stream.off("drain", done);
      stream.off("close", done);
      resolve();
    };
    stream.on("drain", done);
    stream.on("close", done);
  });
}
