import {
  DEFAULT_MAX_FRAME_SIZE,
  Flag,
  FRAME_HEADER_BYTES,
  FrameType,
  MAX_ALLOWED_FRAME_SIZE,
  MAX_WINDOW_SIZE,
  Setting,
} from "./constants.js";
import { H2NetProtocolError } from "./errors.js";

/** What the reader hands on, one call per complete, well-formed frame (a header block once whole). */
export interface FrameHandler {
  /**
   * A DATA frame: `data` without padding (a view of the socket's chunk when the frame lay in one);
   * `flowLength` is what it counts against flow control (padding included).
   */
  onData(streamId: number, data: Buffer, endStream: boolean, flowLength: number): void;
  /** A complete header block (HEADERS and its CONTINUATIONs, padding and priority removed). */
  onHeaders(streamId: number, block: Buffer, endStream: boolean): void;
  onRstStream(streamId: number, errorCode: number): void;
  /** A SETTINGS frame: its parameters in order (each checked), or an ACK (`settings` empty). */
  onSettings(ack: boolean, settings: ReadonlyArray<readonly [id: number, value: number]>): void;
  /** A PING: `payload` is its 8 bytes (a copy). */
  onPing(ack: boolean, payload: Buffer): void;
  onGoaway(lastStreamId: number, errorCode: number, debugData: Buffer): void;
  onWindowUpdate(streamId: number, increment: number): void;
  /**
   * A frame that RFC 9113 makes an error of its stream only (a WINDOW_UPDATE of 0 on a stream, a PRIORITY
   * not of 5 bytes): `error.streamId` names the stream; the reader reads on.
   */
  onStreamError(error: H2NetProtocolError): void;
}

/** The reader's limits; each exceeded ends the connection with an `H2NetProtocolError`. */
export interface FrameReaderLimits {
  /** Our SETTINGS_MAX_FRAME_SIZE: a larger frame is rejected from its header, before its payload is buffered. */
  maxFrameSize: number;
  /** The largest header block (all of its fragments, as received) accepted. */
  maxHeaderBlockBytes: number;
  /** The most CONTINUATION frames one header block may take. */
  maxContinuationFrames: number;
  /**
   * The most SETTINGS or PING frames (each asks for an answer) accepted in a row without a HEADERS or
   * DATA frame between them: counted in frames, not time, so a busy client cannot mistake a slow
   * server for a flood.
   */
  maxControlFramesInRow: number;
}

/** The default limits: RFC defaults for frames, generous for what gRPC and etcd send. */
export const DEFAULT_READER_LIMITS: FrameReaderLimits = Object.freeze({
  maxFrameSize: DEFAULT_MAX_FRAME_SIZE,
  maxHeaderBlockBytes: 64 * 1024,
  maxContinuationFrames: 32,
  maxControlFramesInRow: 1_000,
});

/**
 * Cuts the bytes of a connection (after the server's preface, which is its first SETTINGS frame) into
 * HTTP/2 frames, checks each frame's shape (RFC 9113 section 6) and hands it on. Copes with any chunking:
 * a frame split across chunks is gathered (at most one frame of at most `maxFrameSize` bytes is held),
 * frames within one chunk are handed on as views of it. Throws `H2NetProtocolError` for anything
 * malformed or over a limit; after a throw the reader is spent (the connection must end).
 */
export class FrameReader {
  readonly #handler: FrameHandler;
  readonly #limits: FrameReaderLimits;
  /** Chunks holding the start of an incomplete frame, carried over until {@link #needed} bytes are there. */
  #pending: Buffer[] = [];
  #pendingBytes = 0;
  /** Bytes the incomplete frame needs: its header, then (once the header is known) header and payload. */
  #needed = 0;
  /** The stream whose header block is open (a HEADERS without END_HEADERS), 0 when none. */
  #blockStream = 0;
  #blockEndStream = false;
  #blockParts: Buffer[] = [];
  #blockBytes = 0;
  #blockContinuations = 0;
  #controlInRow = 0;
  #sawSettings = false;
  #failed: H2NetProtocolError | undefined;

  constructor(handler: FrameHandler, limits: FrameReaderLimits = DEFAULT_READER_LIMITS) {
    this.#handler = handler;
    this.#limits = limits;
  }

  /**
   * Feeds bytes as they came from the socket; hands on every frame they complete.
   * @throws H2NetProtocolError for a malformed frame or a limit exceeded (and again on every later push).
   */
  push(chunk: Buffer): void {
    if (this.#failed) throw this.#failed;
    try {
      this.#push(chunk);
    } catch (err) {
      if (err instanceof H2NetProtocolError) this.#failed = err;
      throw err;
    }
  }

  #push(chunk: Buffer): void {
    let bytes = chunk;
    if (this.#pendingBytes > 0) {
      // Gathered, not concatenated per chunk: a frame trickling in byte by byte is copied at most twice.
      this.#pending.push(chunk);
      this.#pendingBytes += chunk.byteLength;
      if (this.#pendingBytes < this.#needed) return;
      bytes = Buffer.concat(this.#pending, this.#pendingBytes);
      this.#pending = [];
      this.#pendingBytes = 0;
    }
    let offset = 0;
    const end = bytes.byteLength;
    while (end - offset >= FRAME_HEADER_BYTES) {
      const length = (bytes[offset]! << 16) | (bytes[offset + 1]! << 8) | bytes[offset + 2]!;
      if (length > this.#limits.maxFrameSize) {
        throw new H2NetProtocolError(
          "FRAME_TOO_LARGE",
          `the server sent a frame of ${length} bytes, above our SETTINGS_MAX_FRAME_SIZE of ${this.#limits.maxFrameSize}`,
        );
      }
      if (end - offset < FRAME_HEADER_BYTES + length) {
        this.#needed = FRAME_HEADER_BYTES + length;
        break;
      }
      const type = bytes[offset + 3]!;
      const flags = bytes[offset + 4]!;
      const streamId = bytes.readUInt32BE(offset + 5) & 0x7fffffff;
      const start = offset + FRAME_HEADER_BYTES;
      offset = start + length;
      this.#frame(type, flags, streamId, bytes.subarray(start, offset));
    }
    // Whatever is left is the start of one frame, whose length (if known) was checked above. A copy: the
    // socket may reuse its chunk once this push returns.
    if (offset < end) {
      if (end - offset < FRAME_HEADER_BYTES) this.#needed = FRAME_HEADER_BYTES;
      this.#pending.push(Buffer.from(bytes.subarray(offset)));
      this.#pendingBytes = end - offset;
    }
  }

  #frame(type: number, flags: number, streamId: number, payload: Buffer): void {
    if (!this.#sawSettings && type !== FrameType.SETTINGS)
      malformed(`the server's first frame must be SETTINGS, got type ${type}`);
    if (this.#blockStream !== 0) {
      if (type !== FrameType.CONTINUATION || streamId !== this.#blockStream)
        malformed(
          `expected a CONTINUATION on stream ${this.#blockStream}, got type ${type} on stream ${streamId}`,
        );
      this.#continuation(flags, payload);
      return;
    }
    switch (type) {
      case FrameType.DATA:
        this.#data(flags, streamId, payload);
        return;
      case FrameType.HEADERS:
        this.#headers(flags, streamId, payload);
        return;
      case FrameType.PRIORITY:
        if (streamId === 0) malformed("PRIORITY on stream 0");
        // RFC 9113 section 6.3: a stream error, not a connection error.
        if (payload.byteLength !== 5)
          this.#handler.onStreamError(
            new H2NetProtocolError("FRAME_SIZE", `PRIORITY of ${payload.byteLength} bytes (must be 5)`, {
              streamId,
            }),
          );
        return;
      case FrameType.RST_STREAM:
        if (streamId === 0) malformed("RST_STREAM on stream 0");
        if (payload.byteLength !== 4) malformed(`RST_STREAM of ${payload.byteLength} bytes (must be 4)`);
        this.#handler.onRstStream(streamId, payload.readUInt32BE(0));
        return;
      case FrameType.SETTINGS:
        this.#settings(flags, streamId, payload);
        return;
      case FrameType.PUSH_PROMISE:
        malformed("PUSH_PROMISE, but the client disabled server push");
        return;
      case FrameType.PING:
        if (streamId !== 0) malformed(`PING on stream ${streamId}`);
        if (payload.byteLength !== 8) malformed(`PING of ${payload.byteLength} bytes (must be 8)`);
        if (!(flags & Flag.ACK)) this.#countControl("PING_FLOOD", "PING");
        this.#handler.onPing((flags & Flag.ACK) !== 0, Buffer.from(payload));
        return;
      case FrameType.GOAWAY:
        if (streamId !== 0) malformed(`GOAWAY on stream ${streamId}`);
        if (payload.byteLength < 8) malformed(`GOAWAY of ${payload.byteLength} bytes (at least 8)`);
        this.#handler.onGoaway(
          payload.readUInt32BE(0) & 0x7fffffff,
          payload.readUInt32BE(4),
          Buffer.from(payload.subarray(8)),
        );
        return;
      case FrameType.WINDOW_UPDATE: {
        if (payload.byteLength !== 4) malformed(`WINDOW_UPDATE of ${payload.byteLength} bytes (must be 4)`);
        const increment = payload.readUInt32BE(0) & 0x7fffffff;
        if (increment === 0) {
          const message = `WINDOW_UPDATE with an increment of 0 on stream ${streamId}`;
          // RFC 9113 section 6.9: on a stream, an error of that stream only.
          if (streamId === 0) malformed(message);
          this.#handler.onStreamError(new H2NetProtocolError("MALFORMED_FRAME", message, { streamId }));
          return;
        }
        this.#handler.onWindowUpdate(streamId, increment);
        return;
      }
      case FrameType.CONTINUATION:
        malformed(`CONTINUATION on stream ${streamId} without a HEADERS before it`);
        return;
      default:
      // Unknown frame types are ignored (RFC 9113, section 4.1); their size was checked.
    }
  }

  #data(flags: number, streamId: number, payload: Buffer): void {
    if (streamId === 0) malformed("DATA on stream 0");
    this.#controlInRow = 0;
    const data = unpad(flags, payload, 0, "DATA");
    this.#handler.onData(streamId, data, (flags & Flag.END_STREAM) !== 0, payload.byteLength);
  }

  #headers(flags: number, streamId: number, payload: Buffer): void {
    if (streamId === 0) malformed("HEADERS on stream 0");
    this.#controlInRow = 0;
    const fragment = unpad(flags, payload, flags & Flag.PRIORITY ? 5 : 0, "HEADERS");
    const endStream = (flags & Flag.END_STREAM) !== 0;
    if (flags & Flag.END_HEADERS) {
      this.#checkBlockSize(fragment.byteLength);
      this.#handler.onHeaders(streamId, fragment, endStream);
      return;
    }
    this.#blockStream = streamId;
    this.#blockEndStream = endStream;
    this.#blockBytes = 0;
    this.#blockContinuations = 0;
    this.#addFragment(fragment);
  }

  #continuation(flags: number, payload: Buffer): void {
    if (++this.#blockContinuations > this.#limits.maxContinuationFrames) {
      throw new H2NetProtocolError(
        "CONTINUATION_FLOOD",
        `a header block took more than ${this.#limits.maxContinuationFrames} CONTINUATION frames`,
      );
    }
    this.#addFragment(payload);
    if (!(flags & Flag.END_HEADERS)) return;
    const parts = this.#blockParts;
    const block = parts.length === 1 ? parts[0]! : Buffer.concat(parts, this.#blockBytes);
    const streamId = this.#blockStream;
    this.#blockStream = 0;
    this.#blockParts = [];
    this.#handler.onHeaders(streamId, block, this.#blockEndStream);
  }

  #addFragment(fragment: Buffer): void {
    this.#checkBlockSize(this.#blockBytes + fragment.byteLength);
    this.#blockBytes += fragment.byteLength;
    // A copy: the chunk it is a view of may be reused by the socket once this push returns.
    if (fragment.byteLength > 0) this.#blockParts.push(Buffer.from(fragment));
  }

  #checkBlockSize(bytes: number): void {
    if (bytes > this.#limits.maxHeaderBlockBytes) {
      throw new H2NetProtocolError(
        "HEADER_LIST_TOO_LARGE",
        `a header block of more than ${this.#limits.maxHeaderBlockBytes} bytes`,
      );
    }
  }

  #settings(flags: number, streamId: number, payload: Buffer): void {
    if (streamId !== 0) malformed(`SETTINGS on stream ${streamId}`);
    if (flags & Flag.ACK) {
      if (payload.byteLength !== 0) malformed(`SETTINGS ACK of ${payload.byteLength} bytes (must be 0)`);
      if (!this.#sawSettings) malformed("the server's first frame must be SETTINGS, got a SETTINGS ACK");
      this.#handler.onSettings(true, []);
      return;
    }
    if (payload.byteLength % 6 !== 0) malformed(`SETTINGS of ${payload.byteLength} bytes (a multiple of 6)`);
    this.#sawSettings = true;
    this.#countControl("SETTINGS_FLOOD", "SETTINGS");
    const settings: Array<readonly [number, number]> = [];
    for (let at = 0; at < payload.byteLength; at += 6) {
      const id = payload.readUInt16BE(at);
      const value = payload.readUInt32BE(at + 2);
      checkSetting(id, value);
      settings.push([id, value]);
    }
    this.#handler.onSettings(false, settings);
  }

  #countControl(code: "PING_FLOOD" | "SETTINGS_FLOOD", what: string): void {
    if (++this.#controlInRow > this.#limits.maxControlFramesInRow) {
      throw new H2NetProtocolError(
        code,
        `the server sent more than ${this.#limits.maxControlFramesInRow} SETTINGS or PING frames in a row (the last a ${what}) without a HEADERS or DATA frame`,
      );
    }
  }
}

/** The payload of a (possibly) PADDED frame without its padding and `skip` bytes after the pad length. */
function unpad(flags: number, payload: Buffer, skip: number, what: string): Buffer {
  if (!(flags & Flag.PADDED)) {
    if (payload.byteLength < skip) malformed(`${what} of ${payload.byteLength} bytes, too short`);
    return skip === 0 ? payload : payload.subarray(skip);
  }
  if (payload.byteLength < 1 + skip) malformed(`padded ${what} of ${payload.byteLength} bytes, too short`);
  const padLength = payload[0]!;
  const end = payload.byteLength - padLength;
  if (end < 1 + skip) malformed(`${what} padding of ${padLength} bytes exceeds its payload`);
  return payload.subarray(1 + skip, end);
}

function checkSetting(id: number, value: number): void {
  switch (id) {
    case Setting.ENABLE_PUSH:
      if (value > 1) malformed(`SETTINGS_ENABLE_PUSH of ${value}`);
      return;
    case Setting.INITIAL_WINDOW_SIZE:
      if (value > MAX_WINDOW_SIZE)
        throw new H2NetProtocolError("FLOW_CONTROL", `SETTINGS_INITIAL_WINDOW_SIZE of ${value}`);
      return;
    case Setting.MAX_FRAME_SIZE:
      if (value < DEFAULT_MAX_FRAME_SIZE || value > MAX_ALLOWED_FRAME_SIZE)
        malformed(`SETTINGS_MAX_FRAME_SIZE of ${value}`);
      return;
    default:
  }
}

function malformed(message: string): never {
  throw new H2NetProtocolError("MALFORMED_FRAME", message);
}
