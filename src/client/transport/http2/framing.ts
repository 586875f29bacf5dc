import type { DescMessage, MessageInitShape } from "@bufbuild/protobuf";
import { Code, ConnectError } from "@connectrpc/connect";
import { messageCodec } from "../codec/message-codec.js";

/** Bytes of the gRPC message prefix: one flag byte, then a big-endian uint32 length. */
export const PREFIX_BYTES = 5;

/**
 * Encodes `input` as a `schema` message straight into a gRPC frame: prefix and payload in one buffer (no
 * copy of the payload), so a unary request goes out as one write. Uses the fast codec where it applies.
 * @throws ConnectError (ResourceExhausted) when the message is larger than `maxBytes`.
 */
export function encodeFrame<Desc extends DescMessage>(
  schema: Desc,
  input: MessageInitShape<Desc>,
  maxBytes: number,
): Uint8Array {
  const frame = messageCodec(schema).encode(input, PREFIX_BYTES);
  const length = frame.byteLength - PREFIX_BYTES;
  if (length > maxBytes) {
    throw new ConnectError(
      `message of ${length} bytes exceeds the send limit of ${maxBytes} bytes`,
      Code.ResourceExhausted,
    );
  }
  frame[0] = 0;
  frame[1] = length >>> 24;
  frame[2] = (length >>> 16) & 0xff;
  frame[3] = (length >>> 8) & 0xff;
  frame[4] = length & 0xff;
  return frame;
}

/**
 * Cuts a stream of DATA chunks into gRPC messages. Chunks may hold part of a message, exactly one, or several;
 * a message that fits in one chunk is handed out as a view without copying.
 */
export class MessageDecoder {
  readonly #maxBytes: number;
  /** Prefix bytes gathered so far when a chunk ended inside the prefix. */
  #prefix: Buffer | undefined;
  #prefixFill = 0;
  /** Body of the message being assembled across chunks. */
  #body: Buffer | undefined;
  #bodyFill = 0;

  /** `maxBytes`: the largest message accepted; longer ones fail with ResourceExhausted. */
  constructor(maxBytes: number) {
    this.#maxBytes = maxBytes;
  }

  /** True when no partial message is buffered (a stream that ends here ended cleanly). */
  get idle(): boolean {
    return this.#prefix === undefined && this.#body === undefined;
  }

  /**
   * Feeds one chunk; calls `onMessage` for every message it completes, in order.
   * @throws ConnectError ResourceExhausted (too large) or Internal (compressed message, which we never ask for).
   */
  push(chunk: Uint8Array, onMessage: (message: Uint8Array) => void): void {
    let offset = 0;
    const end = chunk.byteLength;
    while (offset < end) {
      if (this.#body !== undefined) {
        const take = Math.min(this.#body.byteLength - this.#bodyFill, end - offset);
        this.#body.set(chunk.subarray(offset, offset + take), this.#bodyFill);
        this.#bodyFill += take;
        offset += take;
        if (this.#bodyFill === this.#body.byteLength) {
          const message = this.#body;
          this.#body = undefined;
          onMessage(message);
        }
        continue;
      }
      if (this.#prefix === undefined && end - offset >= PREFIX_BYTES) {
        const length = this.#checkPrefix(chunk, offset);
        offset += PREFIX_BYTES;
        if (end - offset >= length) {
          onMessage(chunk.subarray(offset, offset + length));
          offset += length;
        } else {
          this.#startBody(length);
        }
        continue;
      }
      // The chunk ends inside a prefix: gather it byte by byte (at most four bytes carried over).
      this.#prefix ??= Buffer.allocUnsafe(PREFIX_BYTES);
      while (this.#prefixFill < PREFIX_BYTES && offset < end)
        this.#prefix[this.#prefixFill++] = chunk[offset++]!;
      if (this.#prefixFill === PREFIX_BYTES) {
        const length = this.#checkPrefix(this.#prefix, 0);
        this.#prefix = undefined;
        this.#prefixFill = 0;
        if (length === 0) onMessage(new Uint8Array(0));
        else this.#startBody(length);
      }
    }
  }

  #startBody(length: number): void {
    this.#body = Buffer.allocUnsafe(length);
    this.#bodyFill = 0;
    if (length === 0) this.#body = undefined;
  }

  #checkPrefix(bytes: Uint8Array, at: number): number {
    const flags = bytes[at]!;
    const length =
      ((bytes[at + 1]! << 24) >>> 0) + (bytes[at + 2]! << 16) + (bytes[at + 3]! << 8) + bytes[at + 4]!;
    if (flags & 1) {
      throw new ConnectError(
        "received a compressed message, but no compression was negotiated",
        Code.Internal,
      );
    }
    if (length > this.#maxBytes) {
      throw new ConnectError(
        `received message of ${length} bytes exceeds the limit of ${this.#maxBytes} bytes`,
        Code.ResourceExhausted,
      );
    }
    return length;
  }
}

/**
 * Extracts the single message of a unary response body (received as one chunk or several).
 * @throws ConnectError: Unimplemented without a message or with more than one (as Connect reports it),
 * Internal when truncated or compressed, ResourceExhausted above `maxBytes`.
 */
export function unaryMessageFromBody(body: Buffer | Buffer[] | undefined, maxBytes: number): Uint8Array {
  if (body === undefined)
    throw new ConnectError("protocol error: missing response message", Code.Unimplemented);
  const bytes = Array.isArray(body) ? Buffer.concat(body) : body;
  if (bytes.byteLength < PREFIX_BYTES) {
    throw new ConnectError("protocol error: truncated response message", Code.Internal);
  }
  if (bytes[0]! & 1) {
    throw new ConnectError("received a compressed message, but no compression was negotiated", Code.Internal);
  }
  const length = bytes.readUInt32BE(1);
  if (length > maxBytes) {
    throw new ConnectError(
      `received message of ${length} bytes exceeds the limit of ${maxBytes} bytes`,
      Code.ResourceExhausted,
    );
  }
  const end = PREFIX_BYTES + length;
  if (bytes.byteLength < end)
    throw new ConnectError("protocol error: truncated response message", Code.Internal);
  if (bytes.byteLength > end) {
    throw new ConnectError("protocol error: received extra messages for a unary method", Code.Unimplemented);
  }
  return plainBytes(bytes.subarray(PREFIX_BYTES, end));
}

/**
 * A plain Uint8Array view of the same memory (no copy). Node hands us Buffers; bytes fields decoded from
 * them would be Buffers too, and users get the same type from every transport: Uint8Array.
 */
export function plainBytes(bytes: Uint8Array): Uint8Array {
  return Buffer.isBuffer(bytes) ? new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength) : bytes;
}
