import { EventEmitter } from "node:events";
import type { IncomingHttpHeaders, OutgoingHttpHeaders } from "node:http2";
import type { Socket } from "node:net";
import { TLSSocket } from "node:tls";
import {
  DEFAULT_MAX_FRAME_SIZE,
  DEFAULT_WINDOW_SIZE,
  ErrorCode,
  Flag,
  FrameType,
  MAX_WINDOW_SIZE,
  Setting,
} from "./constants.js";
import { H2NetProtocolError } from "./errors.js";
import {
  DEFAULT_READER_LIMITS,
  type FrameHandler,
  FrameReader,
  type FrameReaderLimits,
} from "./frame-reader.js";
import {
  frameHeader,
  goawayFrame,
  headersFrames,
  pingFrame,
  prefaceAndSettings,
  rstStreamFrame,
  settingsAck,
  TurnWriter,
  windowUpdateFrame,
} from "./frame-writer.js";
import { encodeHeaderBlock, HpackDecoder, HpackError } from "./hpack/index.js";
import { H2Stream, type StreamHost } from "./stream.js";

/** How a session is set up; see `connectH2NetSession`. */
export interface H2SessionOptions {
  /** `http` or `https`: the `:scheme` of every request. */
  scheme: string;
  /** The `:authority` of every request. */
  authority: string;
  /** The stream window we announce (SETTINGS_INITIAL_WINDOW_SIZE). */
  streamWindow: number;
  /** The connection window we raise to right after the preface. */
  connectionWindow: number;
  /** Our SETTINGS_MAX_HEADER_LIST_SIZE: the largest decoded header list accepted. */
  maxHeaderListSize: number;
  /** The frame reader's limits (frame size, header blocks, CONTINUATIONs, control-frame floods). */
  limits: FrameReaderLimits;
  /**
   * How long the server may take to acknowledge our SETTINGS before the connection ends with
   * `SETTINGS_TIMEOUT` (RFC 9113 section 6.5.3); the transport gives its connect timeout.
   */
  settingsTimeoutMs: number;
  /**
   * Encoded request header blocks by header object: `RequestHeaderCache` hands out one object per method
   * (while the deadline and metadata stay the same), so a method's block is encoded once, for every
   * connection of the transport (the encoder uses no dynamic table, so a block fits any connection).
   */
  blockCache: WeakMap<OutgoingHttpHeaders, Uint8Array>;
}

/** The defaults of {@link H2SessionOptions} apart from scheme and authority. */
export const DEFAULT_SESSION_LIMITS = Object.freeze({
  streamWindow: 4 * 1024 * 1024,
  connectionWindow: 32 * 1024 * 1024,
  maxHeaderListSize: 64 * 1024,
  limits: DEFAULT_READER_LIMITS,
  settingsTimeoutMs: 5_000,
});

/** The SETTINGS of the server that the client honours, as `remoteSettings` reports them. */
export interface RemoteSettings {
  maxConcurrentStreams?: number;
  initialWindowSize: number;
  maxFrameSize: number;
  headerTableSize: number;
  maxHeaderListSize?: number;
}

/** An 8-byte PING payload from a counter. */
function pingPayload(n: number): Buffer {
  const payload = Buffer.alloc(8);
  payload.writeUInt32BE(n >>> 0, 4);
  return payload;
}

/**
 * One HTTP/2 connection of a gRPC client on a `node:net` or `node:tls` socket (RFC 9113), shaped like the
 * part of `node:http2`'s `ClientHttp2Session` that `Http2Connection` uses (a `GrpcSession`): events `connect`,
 * `remoteSettings`, `goaway`, `error`, `close`; `request`, `ping`, `close`, `destroy`, `ref`, `unref`,
 * `setLocalWindowSize`. It sends the preface and SETTINGS, answers SETTINGS and PING, keeps connection
 * and stream flow control both ways, writes each event-loop turn's frames in one socket write, and ends
 * the connection (GOAWAY, then the socket) with an `H2NetProtocolError` when the server breaks the
 * protocol or a limit, or does not acknowledge our SETTINGS in time; a stream error (RFC 9113 section
 * 5.4.2) resets only its stream. No server push, no priorities, no dynamic table in the encoder.
 */
export class H2Session extends EventEmitter implements FrameHandler, StreamHost {
  readonly #socket: Socket;
  readonly #options: H2SessionOptions;
  readonly #reader: FrameReader;
  readonly #writer: TurnWriter;
  readonly #decoder: HpackDecoder;
  readonly #streams = new Map<number, H2Stream>();
  /** Streams waiting for the server's SETTINGS_MAX_CONCURRENT_STREAMS to let them open, in order. */
  #waiting: H2Stream[] = [];
  /** Streams with request bytes waiting for a window. */
  readonly #blocked = new Set<H2Stream>();
  readonly #pings = new Map<number, (err: Error | null, duration: number, payload: Buffer) => void>();
  readonly #pingSentAt = new Map<number, number>();
  #pingCounter = 0;
  #nextStreamId = 1;
  #lastQueuedStreamId = 0;
  flushedStreamId = 0;
  /** The server's settings. */
  #remoteInitialWindow = DEFAULT_WINDOW_SIZE;
  #remoteMaxFrameSize = DEFAULT_MAX_FRAME_SIZE;
  #remoteMaxStreams: number | undefined;
  /** What the server still lets us send on the connection. */
  #connSendWindow = DEFAULT_WINDOW_SIZE;
  /** What we still let the server send on the connection, and what it sent that we did not give back yet. */
  #connRecvWindow = DEFAULT_WINDOW_SIZE;
  #connRecvUnacked = 0;
  #connWindowTarget = DEFAULT_WINDOW_SIZE;
  /** The smallest last-stream-id of the GOAWAYs received; streams above it were not processed. */
  #goawayLastStreamId = MAX_WINDOW_SIZE;
  #goingAway = false;
  #connecting = true;
  #closed = false;
  #destroyed = false;
  #closeEmitted = false;
  #error: Error | undefined;
  /** Runs from our SETTINGS until the server acknowledges them. */
  #settingsTimer: NodeJS.Timeout | undefined;

  constructor(socket: Socket, options: H2SessionOptions) {
    super();
    this.#socket = socket;
    this.#options = options;
    this.#reader = new FrameReader(this, options.limits);
    this.#decoder = new HpackDecoder({ maxHeaderListSize: options.maxHeaderListSize });
    this.#writer = new TurnWriter((parts, total) => this.#write(parts, total));
    socket.setNoDelay?.(true);
    const secure = socket instanceof TLSSocket;
    socket.once(secure ? "secureConnect" : "connect", () => this.#onConnect(secure));
    socket.on("data", (chunk: Buffer) => this.#onData(chunk));
    socket.on("error", (err) => {
      this.#error ??= err;
    });
    socket.on("close", () => this.#onSocketClose());
  }

  /** True until TCP (and TLS) are up. */
  get connecting(): boolean {
    return this.#connecting;
  }

  /** True once {@link close} or {@link destroy} was called or the connection ended. */
  get closed(): boolean {
    return this.#closed || this.#destroyed;
  }

  /** True once the connection is gone (destroyed, failed or closed by either side). */
  get destroyed(): boolean {
    return this.#destroyed;
  }

  /** Keeps the process alive while the socket is open. */
  ref(): void {
    this.#socket.ref();
  }

  /** Lets the process exit although the socket is open. */
  unref(): void {
    this.#socket.unref();
  }

  /** Raises the connection's receive window to `size` bytes (never lowers it). */
  setLocalWindowSize(size: number): void {
    if (size <= this.#connWindowTarget || this.#destroyed) return;
    const increment = Math.min(size, MAX_WINDOW_SIZE) - this.#connWindowTarget;
    this.#connWindowTarget += increment;
    this.#connRecvWindow += increment;
    this.#writer.push(windowUpdateFrame(0, increment));
  }

  /**
   * Opens a stream: its HEADERS go out with this turn's write. `headers` are the request's (pseudo-headers
   * `:method` and `:path` included; `:scheme` and `:authority` are the session's).
   * @throws Error when the session takes no new streams (gone, closing, after GOAWAY, ids exhausted).
   */
  request(headers: OutgoingHttpHeaders, options?: { endStream?: boolean }): H2Stream {
    if (this.#destroyed || this.#closed || this.#goingAway) {
      throw Object.assign(new Error("the HTTP/2 session takes no new streams"), {
        code: "ERR_HTTP2_INVALID_SESSION",
      });
    }
    const stream = new H2Stream(this, this.#headerBlock(headers), this.#options.streamWindow);
    if (options?.endStream === true) stream.endRequested = true;
    // Above the server's stream limit a stream waits (its id is given when it opens: ids go out in order).
    if (this.#remoteMaxStreams !== undefined && this.#streams.size >= this.#remoteMaxStreams)
      this.#waiting.push(stream);
    else this.#open(stream);
    return stream;
  }

  #open(stream: H2Stream): void {
    const id = this.#nextStreamId;
    this.#nextStreamId += 2;
    const block = stream.headerBlock!;
    stream.opened(id, this.#remoteInitialWindow);
    this.#streams.set(id, stream);
    const endStream = stream.endRequested && stream.pendingBytes === 0;
    this.#writer.push(headersFrames(id, block, endStream, this.#remoteMaxFrameSize));
    this.#lastQueuedStreamId = id;
    if (endStream) stream.localEnded = true;
    else if (stream.pendingBytes > 0 || stream.endRequested) this.#sendData(stream);
    // Stream ids are 31 bits: a session that used them up takes no more streams (its owner moves on).
    if (this.#nextStreamId > MAX_WINDOW_SIZE) this.#retireLocally();
  }

  /** Opens waiting streams while the server's limit allows. */
  #openWaiting(): void {
    while (
      this.#waiting.length > 0 &&
      !this.#destroyed &&
      (this.#remoteMaxStreams === undefined || this.#streams.size < this.#remoteMaxStreams)
    ) {
      this.#open(this.#waiting.shift()!);
    }
  }

  /**
   * Sends a PING; `callback` gets the ack (or an error when the session ends first). False when the
   * session is gone.
   */
  ping(callback: (err: Error | null, duration: number, payload: Buffer) => void): boolean {
    if (this.#destroyed || this.#connecting) return false;
    const n = ++this.#pingCounter;
    this.#pings.set(n, callback);
    this.#pingSentAt.set(n, performance.now());
    this.#writer.push(pingFrame(pingPayload(n), false));
    return true;
  }

  /**
   * Ends the session gracefully: no new streams; once the open ones are over, GOAWAY and the end of the
   * socket (the server closes its side in turn).
   */
  close(): void {
    if (this.#closed || this.#destroyed) return;
    this.#closed = true;
    if (this.#streams.size === 0 && this.#waiting.length === 0) this.#endSocket();
  }

  #endSocket(): void {
    this.#writer.push(goawayFrame(0, ErrorCode.NO_ERROR, ""));
    this.#writer.flush();
    this.#socket.end();
  }

  /** Tears the session down at once; `error`, if given, is reported before `close`. */
  destroy(error?: Error): void {
    if (error !== undefined) this.#error ??= error;
    this.#teardown();
    this.#writer.clear();
    this.#socket.destroy();
  }

  // --- StreamHost ---------------------------------------------------------------------------------

  /** @internal */
  sendPending(stream: H2Stream): void {
    if (this.#destroyed || stream.streamId === 0) return;
    this.#sendData(stream);
  }

  /** @internal */
  resetStream(stream: H2Stream, code: number): void {
    this.#blocked.delete(stream);
    // A stream still waiting to open was never sent: nothing to reset.
    if (!this.#destroyed && stream.streamId !== 0) this.#writer.push(rstStreamFrame(stream.streamId, code));
  }

  /** @internal */
  consumed(stream: H2Stream, bytes: number): void {
    if (this.#destroyed || stream.remoteEnded) return;
    // The window is given back once half of it was used: few WINDOW_UPDATEs, never a stalled server.
    stream.unacked += bytes;
    if (stream.unacked >= this.#options.streamWindow / 2) {
      stream.recvWindow += stream.unacked;
      this.#writer.push(windowUpdateFrame(stream.streamId, stream.unacked));
      stream.unacked = 0;
    }
  }

  /** @internal */
  forget(stream: H2Stream): void {
    this.#blocked.delete(stream);
    if (stream.streamId === 0) {
      const index = this.#waiting.indexOf(stream);
      if (index >= 0) this.#waiting.splice(index, 1);
      return;
    }
    this.#streams.delete(stream.streamId);
    if (this.#waiting.length > 0) this.#openWaiting();
    if (this.#closed && !this.#destroyed && this.#streams.size === 0) this.#endSocket();
  }

  // --- FrameHandler ---------------------------------------------------------------------------------

  /** @internal */
  onData(streamId: number, data: Buffer, endStream: boolean, flowLength: number): void {
    this.#connRecvWindow -= flowLength;
    if (this.#connRecvWindow < 0)
      throw new H2NetProtocolError(
        "FLOW_CONTROL",
        "the server sent more DATA than the connection window allowed",
      );
    this.#connRecvUnacked += flowLength;
    if (this.#connRecvUnacked >= this.#connWindowTarget / 2) {
      this.#connRecvWindow += this.#connRecvUnacked;
      this.#writer.push(windowUpdateFrame(0, this.#connRecvUnacked));
      this.#connRecvUnacked = 0;
    }
    const stream = this.#streamOf(streamId, "DATA");
    if (stream === undefined) return;
    if (stream.remoteEnded) {
      throw new H2NetProtocolError("MALFORMED_FRAME", `DATA on stream ${streamId} after its END_STREAM`);
    }
    stream.recvWindow -= flowLength;
    if (stream.recvWindow < 0) {
      throw new H2NetProtocolError(
        "FLOW_CONTROL",
        `the server sent more DATA on stream ${streamId} than its window allowed`,
      );
    }
    stream.receiveData(data, flowLength, endStream);
  }

  /** @internal */
  onHeaders(streamId: number, block: Buffer, endStream: boolean): void {
    // Decoded even for a stream we dropped: the decoder's table must follow every block.
    let fields: Array<[string, string]>;
    try {
      fields = this.#decoder.decode(block);
    } catch (err) {
      if (err instanceof HpackError) {
        throw new H2NetProtocolError(
          err.code === "HEADER_LIST_TOO_LARGE" ? "HEADER_LIST_TOO_LARGE" : "HPACK",
          `a header block from the server did not decode: ${err.message}`,
          { cause: err },
        );
      }
      throw err;
    }
    const stream = this.#streamOf(streamId, "HEADERS");
    if (stream === undefined) return;
    const headers: IncomingHttpHeaders = {};
    for (const [name, value] of fields) {
      const existing = headers[name];
      if (existing === undefined) headers[name] = value;
      else if (Array.isArray(existing)) existing.push(value);
      else (headers as Record<string, string | string[]>)[name] = [existing, value];
    }
    stream.receiveHeaders(headers, endStream);
  }

  /** @internal */
  onRstStream(streamId: number, errorCode: number): void {
    const stream = this.#streamOf(streamId, "RST_STREAM");
    stream?.reset(errorCode);
  }

  /** @internal */
  onSettings(ack: boolean, settings: ReadonlyArray<readonly [number, number]>): void {
    if (ack) {
      clearTimeout(this.#settingsTimer);
      this.#settingsTimer = undefined;
      return;
    }
    let headerTableSize = 4096;
    let maxHeaderListSize: number | undefined;
    for (const [id, value] of settings) {
      switch (id) {
        case Setting.INITIAL_WINDOW_SIZE: {
          const delta = value - this.#remoteInitialWindow;
          this.#remoteInitialWindow = value;
          for (const stream of this.#streams.values()) {
            stream.sendWindow += delta;
            if (stream.sendWindow > MAX_WINDOW_SIZE)
              throw new H2NetProtocolError(
                "FLOW_CONTROL",
                "SETTINGS_INITIAL_WINDOW_SIZE overflowed a stream window",
              );
          }
          break;
        }
        case Setting.MAX_FRAME_SIZE:
          this.#remoteMaxFrameSize = value;
          break;
        case Setting.MAX_CONCURRENT_STREAMS:
          this.#remoteMaxStreams = value;
          break;
        case Setting.HEADER_TABLE_SIZE:
          // Our encoder never inserts into the dynamic table, so any size the server allows suits it.
          headerTableSize = value;
          break;
        case Setting.MAX_HEADER_LIST_SIZE:
          maxHeaderListSize = value;
          break;
        default:
      }
    }
    this.#writer.push(settingsAck());
    this.#openWaiting();
    // Windows may have grown: send what waited.
    for (const stream of this.#blocked) this.#sendData(stream);
    const reported: RemoteSettings = {
      initialWindowSize: this.#remoteInitialWindow,
      maxFrameSize: this.#remoteMaxFrameSize,
      headerTableSize,
      ...(this.#remoteMaxStreams !== undefined ? { maxConcurrentStreams: this.#remoteMaxStreams } : {}),
      ...(maxHeaderListSize !== undefined ? { maxHeaderListSize } : {}),
    };
    this.emit("remoteSettings", reported);
  }

  /** @internal */
  onPing(ack: boolean, payload: Buffer): void {
    if (!ack) {
      this.#writer.push(pingFrame(payload, true));
      return;
    }
    const n = payload.readUInt32BE(4);
    const callback = this.#pings.get(n);
    if (callback === undefined || payload.readUInt32BE(0) !== 0) return;
    this.#pings.delete(n);
    const sentAt = this.#pingSentAt.get(n) ?? performance.now();
    this.#pingSentAt.delete(n);
    callback(null, performance.now() - sentAt, payload);
  }

  /** @internal */
  onGoaway(lastStreamId: number, errorCode: number, debugData: Buffer): void {
    this.#goingAway = true;
    if (lastStreamId < this.#goawayLastStreamId) this.#goawayLastStreamId = lastStreamId;
    // Streams above the last one the server processed never reached it: refused, so they may be retried.
    for (const stream of [...this.#streams.values(), ...this.#waiting]) {
      if (stream.streamId > this.#goawayLastStreamId || stream.streamId === 0)
        stream.reset(ErrorCode.REFUSED_STREAM);
    }
    this.emit("goaway", errorCode, lastStreamId, debugData);
    if (errorCode !== ErrorCode.NO_ERROR) {
      const debug = debugData.toString("utf8", 0, Math.min(debugData.byteLength, 256));
      const error = Object.assign(
        new Error(`the server sent GOAWAY with error code ${errorCode}${debug ? ` (${debug})` : ""}`),
        { code: "ERR_HTTP2_SESSION_ERROR" },
      );
      this.destroy(error);
      return;
    }
    if (this.#streams.size === 0) this.close();
  }

  /** @internal */
  onWindowUpdate(streamId: number, increment: number): void {
    if (streamId === 0) {
      this.#connSendWindow += increment;
      if (this.#connSendWindow > MAX_WINDOW_SIZE)
        throw new H2NetProtocolError("FLOW_CONTROL", "a WINDOW_UPDATE overflowed the connection window");
      for (const stream of this.#blocked) this.#sendData(stream);
      return;
    }
    const stream = this.#streamOf(streamId, "WINDOW_UPDATE");
    if (stream === undefined) return;
    stream.sendWindow += increment;
    if (stream.sendWindow > MAX_WINDOW_SIZE)
      throw new H2NetProtocolError(
        "FLOW_CONTROL",
        `a WINDOW_UPDATE overflowed the window of stream ${streamId}`,
      );
    this.#sendData(stream);
  }

  /** @internal */
  onStreamError(error: H2NetProtocolError): void {
    const stream = this.#streams.get(error.streamId);
    if (stream !== undefined) {
      stream.fail(error);
      return;
    }
    // A stream that is over: nothing to reset. A WINDOW_UPDATE on a stream the client never opened
    // ends the connection, as every frame there does but PRIORITY (which may name any stream).
    if (error.code !== "FRAME_SIZE") this.#streamOf(error.streamId, "WINDOW_UPDATE");
  }

  // --- internals ---------------------------------------------------------------------------------

  /**
   * The open stream a frame is for; undefined for a stream that was ours but is over (late frames are
   * dropped). A stream the client never opened is a protocol error.
   */
  #streamOf(streamId: number, what: string): H2Stream | undefined {
    const stream = this.#streams.get(streamId);
    if (stream !== undefined) return stream;
    if (streamId % 2 === 0 || streamId >= this.#nextStreamId) {
      throw new H2NetProtocolError(
        "UNKNOWN_STREAM",
        `${what} on stream ${streamId}, which the client never opened`,
      );
    }
    return undefined;
  }

  #headerBlock(headers: OutgoingHttpHeaders): Uint8Array {
    const cached = this.#options.blockCache.get(headers);
    if (cached !== undefined) return cached;
    const fields: Array<[string, string]> = [
      [":method", String(headers[":method"] ?? "POST")],
      [":scheme", this.#options.scheme],
      [":path", String(headers[":path"] ?? "/")],
      [":authority", this.#options.authority],
    ];
    for (const name of Object.keys(headers)) {
      if (name.charCodeAt(0) === 58 /* ":" */) continue;
      const value = headers[name];
      if (value === undefined) continue;
      if (Array.isArray(value)) for (const v of value) fields.push([name, v]);
      else fields.push([name, String(value)]);
    }
    let block: Uint8Array;
    try {
      block = encodeHeaderBlock(fields);
    } catch (err) {
      // A value the encoder cannot carry is the caller's bad input, as node:http2 reports it.
      throw new TypeError(err instanceof Error ? err.message : String(err));
    }
    this.#options.blockCache.set(headers, block);
    return block;
  }

  /** Sends what flow control allows of a stream's request bytes, and its END_STREAM after the last. */
  #sendData(stream: H2Stream): void {
    if (stream.localEnded || stream.closed) {
      this.#blocked.delete(stream);
      return;
    }
    while (stream.pendingBytes > 0) {
      const allowed = Math.min(this.#connSendWindow, stream.sendWindow, this.#remoteMaxFrameSize);
      if (allowed <= 0) {
        this.#blocked.add(stream);
        return;
      }
      const first = stream.pending[0]!;
      const available = first.byteLength - stream.pendingOffset;
      const take = Math.min(allowed, available);
      const payload =
        take === first.byteLength ? first : first.subarray(stream.pendingOffset, stream.pendingOffset + take);
      stream.pendingOffset += take;
      if (stream.pendingOffset === first.byteLength) {
        stream.pending.shift();
        stream.pendingOffset = 0;
      }
      stream.pendingBytes -= take;
      this.#connSendWindow -= take;
      stream.sendWindow -= take;
      const last = stream.pendingBytes === 0 && stream.endRequested;
      this.#writer.push(frameHeader(take, FrameType.DATA, last ? Flag.END_STREAM : 0, stream.streamId));
      this.#writer.push(payload);
      if (last) stream.localEnded = true;
    }
    this.#blocked.delete(stream);
    if (stream.endRequested && !stream.localEnded) {
      this.#writer.push(frameHeader(0, FrameType.DATA, Flag.END_STREAM, stream.streamId));
      stream.localEnded = true;
    }
    stream.sent();
  }

  #onConnect(secure: boolean): void {
    if (this.#destroyed) return;
    if (secure && (this.#socket as TLSSocket).alpnProtocol !== "h2") {
      const protocol = (this.#socket as TLSSocket).alpnProtocol;
      this.destroy(
        Object.assign(
          new Error(
            `the server did not negotiate HTTP/2 by ALPN (got ${protocol === false ? "none" : String(protocol)})`,
          ),
          { code: "ERR_HTTP2_ERROR" },
        ),
      );
      return;
    }
    this.#connecting = false;
    const { streamWindow, maxHeaderListSize, limits } = this.#options;
    this.#socket.write(
      prefaceAndSettings([
        [Setting.ENABLE_PUSH, 0],
        [Setting.INITIAL_WINDOW_SIZE, streamWindow],
        [Setting.MAX_FRAME_SIZE, limits.maxFrameSize],
        [Setting.MAX_HEADER_LIST_SIZE, maxHeaderListSize],
      ]),
    );
    const { settingsTimeoutMs } = this.#options;
    this.#settingsTimer = setTimeout(() => {
      this.#fail(
        new H2NetProtocolError(
          "SETTINGS_TIMEOUT",
          `the server did not acknowledge the client's SETTINGS within ${settingsTimeoutMs} ms (connectTimeoutMs)`,
        ),
      );
    }, settingsTimeoutMs);
    this.#settingsTimer.unref();
    this.setLocalWindowSize(this.#options.connectionWindow);
    this.emit("connect", this, this.#socket);
  }

  #onData(chunk: Buffer): void {
    if (this.#destroyed) return;
    try {
      this.#reader.push(chunk);
    } catch (err) {
      if (err instanceof H2NetProtocolError) this.#fail(err);
      else this.destroy(err instanceof Error ? err : new Error(String(err)));
    }
  }

  /** Ends the connection because of the server: GOAWAY with the error, then the socket. */
  #fail(error: H2NetProtocolError): void {
    if (this.#destroyed) return;
    this.#error ??= error;
    this.#writer.clear();
    const socket = this.#socket;
    this.#teardown();
    // The GOAWAY is a courtesy: the socket is destroyed once it is written, or soon if it never is.
    socket.end(goawayFrame(0, error.http2Code, error.message), () => socket.destroy());
    setTimeout(() => socket.destroy(), 1_000).unref();
  }

  /** Stops taking streams locally (ids used up): the owner sees a GOAWAY and moves to a new session. */
  #retireLocally(): void {
    this.#goingAway = true;
    process.nextTick(() =>
      this.emit("goaway", ErrorCode.NO_ERROR, this.#lastQueuedStreamId, Buffer.alloc(0)),
    );
  }

  #write(parts: Buffer[], total: number): void {
    if (this.#destroyed || this.#socket.writableEnded) return;
    const socket = this.#socket;
    this.flushedStreamId = this.#lastQueuedStreamId;
    if (parts.length === 1) socket.write(parts[0]!);
    else if (total <= 64 * 1024) socket.write(Buffer.concat(parts, total));
    else {
      socket.cork();
      for (const part of parts) socket.write(part);
      socket.uncork();
    }
  }

  /** Marks the session gone and ends every stream (each `close`s); `error` and `close` follow. */
  #teardown(): void {
    if (this.#destroyed) return;
    this.#destroyed = true;
    this.#closed = true;
    clearTimeout(this.#settingsTimer);
    // The error first: the streams' `close` handlers read it as the connection's failure.
    const error = this.#error;
    if (error !== undefined) process.nextTick(() => this.#emitError(error));
    for (const stream of [...this.#streams.values(), ...this.#waiting]) stream.terminate();
    this.#streams.clear();
    this.#waiting = [];
    this.#blocked.clear();
    const pings = [...this.#pings.values()];
    this.#pings.clear();
    this.#pingSentAt.clear();
    const gone = new Error("the HTTP/2 session closed before the PING was answered");
    for (const callback of pings) callback(gone, 0, Buffer.alloc(0));
  }

  #emitError(error: Error): void {
    if (this.listenerCount("error") > 0) this.emit("error", error);
  }

  #onSocketClose(): void {
    this.#teardown();
    if (this.#closeEmitted) return;
    this.#closeEmitted = true;
    process.nextTick(() => this.emit("close"));
  }
}
