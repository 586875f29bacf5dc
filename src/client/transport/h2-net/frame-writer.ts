import { CLIENT_PREFACE, Flag, FRAME_HEADER_BYTES, FrameType } from "./constants.js";

/** Writes a frame header into `target` at `at`. */
function writeHeader(
  target: Buffer,
  at: number,
  length: number,
  type: number,
  flags: number,
  streamId: number,
): void {
  target[at] = length >>> 16;
  target[at + 1] = (length >>> 8) & 0xff;
  target[at + 2] = length & 0xff;
  target[at + 3] = type;
  target[at + 4] = flags;
  target.writeUInt32BE(streamId & 0x7fffffff, at + 5);
}

/** A frame header alone (its payload follows as another buffer, so a large payload is not copied). */
export function frameHeader(length: number, type: number, flags: number, streamId: number): Buffer {
  const header = Buffer.allocUnsafe(FRAME_HEADER_BYTES);
  writeHeader(header, 0, length, type, flags, streamId);
  return header;
}

/** A whole frame in one buffer (the payload copied after its header): for small control frames and tests. */
export function frame(type: number, flags: number, streamId: number, payload: Uint8Array): Buffer {
  const out = Buffer.allocUnsafe(FRAME_HEADER_BYTES + payload.byteLength);
  writeHeader(out, 0, payload.byteLength, type, flags, streamId);
  out.set(payload, FRAME_HEADER_BYTES);
  return out;
}

/** The client preface followed by our SETTINGS frame. */
export function prefaceAndSettings(settings: ReadonlyArray<readonly [id: number, value: number]>): Buffer {
  const frame = Buffer.allocUnsafe(CLIENT_PREFACE.byteLength + FRAME_HEADER_BYTES + settings.length * 6);
  CLIENT_PREFACE.copy(frame, 0);
  let at = CLIENT_PREFACE.byteLength;
  writeHeader(frame, at, settings.length * 6, FrameType.SETTINGS, 0, 0);
  at += FRAME_HEADER_BYTES;
  for (const [id, value] of settings) {
    frame.writeUInt16BE(id, at);
    frame.writeUInt32BE(value, at + 2);
    at += 6;
  }
  return frame;
}

/** A SETTINGS ACK. */
export function settingsAck(): Buffer {
  return frameHeader(0, FrameType.SETTINGS, Flag.ACK, 0);
}

/** A PING (or its ACK) with an 8-byte payload. */
export function pingFrame(payload: Uint8Array, ack: boolean): Buffer {
  const frame = Buffer.allocUnsafe(FRAME_HEADER_BYTES + 8);
  writeHeader(frame, 0, 8, FrameType.PING, ack ? Flag.ACK : 0, 0);
  frame.set(payload.subarray(0, 8), FRAME_HEADER_BYTES);
  return frame;
}

/** A WINDOW_UPDATE raising the window of `streamId` (0: the connection) by `increment`. */
export function windowUpdateFrame(streamId: number, increment: number): Buffer {
  const frame = Buffer.allocUnsafe(FRAME_HEADER_BYTES + 4);
  writeHeader(frame, 0, 4, FrameType.WINDOW_UPDATE, 0, streamId);
  frame.writeUInt32BE(increment, FRAME_HEADER_BYTES);
  return frame;
}

/** An RST_STREAM. */
export function rstStreamFrame(streamId: number, errorCode: number): Buffer {
  const frame = Buffer.allocUnsafe(FRAME_HEADER_BYTES + 4);
  writeHeader(frame, 0, 4, FrameType.RST_STREAM, 0, streamId);
  frame.writeUInt32BE(errorCode, FRAME_HEADER_BYTES);
  return frame;
}

/** A GOAWAY with a short debug text. */
export function goawayFrame(lastStreamId: number, errorCode: number, debug: string): Buffer {
  const text = Buffer.from(debug.slice(0, 256), "utf8");
  const frame = Buffer.allocUnsafe(FRAME_HEADER_BYTES + 8 + text.byteLength);
  writeHeader(frame, 0, 8 + text.byteLength, FrameType.GOAWAY, 0, 0);
  frame.writeUInt32BE(lastStreamId & 0x7fffffff, FRAME_HEADER_BYTES);
  frame.writeUInt32BE(errorCode, FRAME_HEADER_BYTES + 4);
  text.copy(frame, FRAME_HEADER_BYTES + 8);
  return frame;
}

/**
 * A header block as HEADERS plus as many CONTINUATIONs as the server's `maxFrameSize` needs, in one
 * buffer (the frames of a block must not be interleaved with others, and one buffer guarantees it).
 */
export function headersFrames(
  streamId: number,
  block: Uint8Array,
  endStream: boolean,
  maxFrameSize: number,
): Buffer {
  const frames = Math.max(1, Math.ceil(block.byteLength / maxFrameSize));
  const out = Buffer.allocUnsafe(frames * FRAME_HEADER_BYTES + block.byteLength);
  let at = 0;
  for (let i = 0, from = 0; i < frames; i++) {
    const length = Math.min(maxFrameSize, block.byteLength - from);
    const last = i === frames - 1;
    const type = i === 0 ? FrameType.HEADERS : FrameType.CONTINUATION;
    const flags = (last ? Flag.END_HEADERS : 0) | (i === 0 && endStream ? Flag.END_STREAM : 0);
    writeHeader(out, at, length, type, flags, streamId);
    out.set(block.subarray(from, from + length), at + FRAME_HEADER_BYTES);
    at += FRAME_HEADER_BYTES + length;
    from += length;
  }
  return out;
}

/**
 * Collects the frames of one event-loop turn and writes them to the socket together, once per turn
 * (`setImmediate`): many calls started in one turn cost one socket write, not one each.
 */
export class TurnWriter {
  readonly #write: (bytes: Buffer[], total: number) => void;
  #parts: Buffer[] = [];
  #bytes = 0;
  #scheduled = false;
  readonly #flush = () => this.flush();

  /** `write` gets the buffers of a turn, in order, and their total length. */
  constructor(write: (bytes: Buffer[], total: number) => void) {
    this.#write = write;
  }

  /** Bytes queued for this turn's write. */
  get queuedBytes(): number {
    return this.#bytes;
  }

  /** Queues bytes for this turn's write. */
  push(bytes: Buffer): void {
    this.#parts.push(bytes);
    this.#bytes += bytes.byteLength;
    if (!this.#scheduled) {
      this.#scheduled = true;
      setImmediate(this.#flush);
    }
  }

  /** Writes what is queued now (also called by the turn's end). */
  flush(): void {
    this.#scheduled = false;
    if (this.#bytes === 0) return;
    const parts = this.#parts;
    const bytes = this.#bytes;
    this.#parts = [];
    this.#bytes = 0;
    this.#write(parts, bytes);
  }

  /** Drops what is queued (the connection is gone). */
  clear(): void {
    this.#parts = [];
    this.#bytes = 0;
  }
}
