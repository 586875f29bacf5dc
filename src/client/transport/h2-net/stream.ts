import { EventEmitter } from "node:events";
import type { IncomingHttpHeaders } from "node:http2";
import type { H2NetProtocolError } from "./errors.js";

/** Request bytes a stream buffers (waiting for flow control) before `write()` asks the writer to wait. */
const HIGH_WATER_BYTES = 64 * 1024;

/** What a stream needs of its session. */
export interface StreamHost {
  /** Stream ids up to this one have had their HEADERS handed to the socket. */
  readonly flushedStreamId: number;
  /** The stream has request bytes (or its end) to send: send what flow control allows. */
  sendPending(stream: H2Stream): void;
  /** Reset the stream with `code` (RST_STREAM) and forget it. */
  resetStream(stream: H2Stream, code: number): void;
  /** `bytes` of the stream's DATA were handed to its reader: give the server its window back. */
  consumed(stream: H2Stream, bytes: number): void;
  /** The stream is over: forget it. */
  forget(stream: H2Stream): void;
}

/**
 * One request-response exchange on an `H2Session`: the part of `node:http2`'s `ClientHttp2Stream` that
 * the gRPC calls use (events `response`, `data`, `trailers`, `drain`, `close`; `write`, `end`, `close`,
 * `pause`, `resume`; `id`, `rstCode`, `closed`, `destroyed`), with none of its stream machinery: data
 * is handed on as it arrives, or held while paused (the stream window then holds the server).
 */
export class H2Stream extends EventEmitter {
  readonly #host: StreamHost;
  /** 0 until the session opens the stream (it may wait for SETTINGS_MAX_CONCURRENT_STREAMS). */
  #id = 0;
  /** The request's header block, kept until the stream is opened. */
  headerBlock: Uint8Array | undefined;
  /** What the server still lets us send on this stream. */
  sendWindow: number;
  /** What we still let the server send on this stream. */
  recvWindow: number;
  /** Bytes handed to the reader that the server did not get back as window yet. */
  unacked = 0;
  /** Request bytes not yet sent, in order; the first may be partly sent (see `pendingOffset`). */
  pending: Buffer[] = [];
  pendingOffset = 0;
  pendingBytes = 0;
  /** `end()` was called: END_STREAM goes with the last request byte. */
  endRequested = false;
  /** END_STREAM was sent. */
  localEnded = false;
  /** The server ended its side (END_STREAM). */
  remoteEnded = false;
  /** Response headers arrived (later HEADERS are trailers). */
  responded = false;
  #rstCode: number | undefined;
  /** The stream is over: `close` was emitted or is about to be. */
  #closed = false;
  #paused = false;
  #inbox: Buffer[] = [];
  #needDrain = false;

  constructor(host: StreamHost, headerBlock: Uint8Array, recvWindow: number) {
    super();
    this.#host = host;
    this.headerBlock = headerBlock;
    this.sendWindow = 0;
    this.recvWindow = recvWindow;
  }

  /** The stream id, once its HEADERS were handed to the socket; undefined before (nothing was sent). */
  get id(): number | undefined {
    return this.#id !== 0 && this.#id <= this.#host.flushedStreamId ? this.#id : undefined;
  }

  /** The stream id, sent or not; 0 while the stream waits to be opened. */
  get streamId(): number {
    return this.#id;
  }

  /** @internal The session opens the stream as `id` with the server's initial window. */
  opened(id: number, sendWindow: number): void {
    this.#id = id;
    this.sendWindow = sendWindow;
    this.headerBlock = undefined;
  }

  /** The RST_STREAM code that ended the stream, if one did. */
  get rstCode(): number | undefined {
    return this.#rstCode;
  }

  /** True once the stream is over (ended both ways, reset, or its connection gone). */
  get closed(): boolean {
    return this.#closed;
  }

  /** Same as {@link closed}: the stream takes no more writes. */
  get destroyed(): boolean {
    return this.#closed;
  }

  /** Queues request bytes; false when the caller should wait for `drain` before writing more. */
  write(chunk: Uint8Array): boolean {
    if (this.#closed || this.endRequested || this.remoteEnded) return false;
    this.#queue(chunk);
    this.#host.sendPending(this);
    if (this.pendingBytes < HIGH_WATER_BYTES) return true;
    this.#needDrain = true;
    return false;
  }

  /** Queues the last request bytes (if any) and ends the request. */
  end(chunk?: Uint8Array): void {
    if (this.#closed || this.endRequested || this.remoteEnded) return;
    if (chunk !== undefined && chunk.byteLength > 0) this.#queue(chunk);
    this.endRequested = true;
    this.#host.sendPending(this);
  }

  /** Resets the stream with `code` (RST_STREAM) unless it is over; `close` follows. */
  close(code: number): void {
    if (this.#closed) return;
    // A response the server ended but whose data is held (paused) is dropped; nothing to reset then.
    if (!this.remoteEnded) this.#host.resetStream(this, code);
    this.#rstCode = code;
    this.terminate();
  }

  /** Stops handing on data: it is held (the stream window is not replenished) until {@link resume}. */
  pause(): void {
    this.#paused = true;
  }

  /** Hands on held data (on the next tick) and what follows as it arrives. */
  resume(): void {
    if (!this.#paused) return;
    this.#paused = false;
    process.nextTick(() => this.#drainInbox());
  }

  /** True while paused. */
  isPaused(): boolean {
    return this.#paused;
  }

  /** @internal The session took `bytes` request bytes off the queue; emits `drain` when it emptied enough. */
  sent(): void {
    if (this.#needDrain && this.pendingBytes < HIGH_WATER_BYTES) {
      this.#needDrain = false;
      this.emit("drain");
    }
  }

  /** @internal Response HEADERS (or trailers) arrived. */
  receiveHeaders(headers: IncomingHttpHeaders, endStream: boolean): void {
    if (this.#closed || this.remoteEnded) return;
    // Informational (1xx) responses carry nothing for gRPC.
    if (!this.responded && !endStream && String(headers[":status"]).startsWith("1")) return;
    const flags = endStream ? 1 : 0;
    if (!this.responded) {
      this.responded = true;
      this.emit("response", headers, flags);
    } else {
      this.emit("trailers", headers, flags);
    }
    if (endStream) this.#remoteEnd();
  }

  /** @internal DATA arrived (flow control already counted); `endStream` ends the response. */
  receiveData(data: Buffer, flowLength: number, endStream: boolean): void {
    if (this.#closed) return;
    const padding = flowLength - data.byteLength;
    if (padding > 0) this.#host.consumed(this, padding);
    if (data.byteLength > 0) {
      if (this.#paused || this.#inbox.length > 0) this.#inbox.push(data);
      else {
        this.emit("data", data);
        this.#host.consumed(this, data.byteLength);
      }
    }
    if (endStream) this.#remoteEnd();
  }

  /** @internal The server reset the stream, or it was refused by a GOAWAY: it ends now, held data dropped. */
  reset(code: number): void {
    // After the server's END_STREAM the response is whole (data may still be held for a paused reader):
    // grpc-go resets a stream whose request was not half-closed yet, which takes nothing from it.
    if (this.#closed || this.remoteEnded) return;
    this.#rstCode = code;
    this.terminate();
  }

  /**
   * @internal The server broke the protocol on this stream only: reset it with the error's HTTP/2 code,
   * then `error` (code `ERR_HTTP2_STREAM_ERROR`, as `node:http2` reports a stream error; `error` as its
   * cause) and `close`. A stream the server already ended is over for the protocol: nothing to do.
   */
  fail(error: H2NetProtocolError): void {
    if (this.#closed || this.remoteEnded) return;
    this.#host.resetStream(this, error.http2Code);
    this.#rstCode = error.http2Code;
    const streamError = Object.assign(
      new Error(`the client reset stream ${this.#id}: ${error.message}`, { cause: error }),
      { code: "ERR_HTTP2_STREAM_ERROR" },
    );
    process.nextTick(() => {
      if (this.listenerCount("error") > 0) this.emit("error", streamError);
    });
    this.terminate();
  }

  /** @internal Ends the stream now (reset, connection gone): `close` on the next tick. */
  terminate(): void {
    if (this.#closed) return;
    this.#inbox = [];
    this.pending = [];
    this.pendingBytes = 0;
    this.#finish();
  }

  #queue(chunk: Uint8Array): void {
    const buffer = Buffer.isBuffer(chunk)
      ? chunk
      : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    this.pending.push(buffer);
    this.pendingBytes += buffer.byteLength;
  }

  #remoteEnd(): void {
    this.remoteEnded = true;
    // gRPC's response is over: a request still being sent is reset (NO_ERROR), as grpc-go does.
    if (!this.localEnded) this.#host.resetStream(this, 0);
    this.pending = [];
    this.pendingBytes = 0;
    if (this.#inbox.length === 0) this.#finish();
  }

  #drainInbox(): void {
    while (!this.#paused && this.#inbox.length > 0) {
      const data = this.#inbox.shift()!;
      this.emit("data", data);
      if (!this.remoteEnded) this.#host.consumed(this, data.byteLength);
    }
    if (this.#inbox.length === 0 && this.remoteEnded) this.#finish();
  }

  #finish(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#host.forget(this);
    process.nextTick(() => this.emit("close"));
  }
}
