import type { IncomingHttpHeaders, OutgoingHttpHeaders } from "node:http2";
import type { Duplex } from "node:stream";

/**
 * The part of an HTTP/2 client stream that the gRPC calls use. `node:http2`'s `ClientHttp2Stream` is one,
 * and so is the h2-net transport's `H2Stream`: the calls are typed against this, not against either.
 */
export interface GrpcStream {
  /** The stream id once its HEADERS were sent; undefined before (nothing of the request left). */
  readonly id?: number | undefined;
  /** The RST_STREAM code that ended the stream, if one did. */
  readonly rstCode: number | undefined;
  readonly closed: boolean;
  readonly destroyed: boolean;
  /** Queues request bytes; false when the writer should wait for `drain`. */
  write(chunk: Uint8Array): boolean;
  /** Ends the request, after `chunk` if given. */
  end(chunk?: Uint8Array): void;
  /** Resets the stream with `code`. */
  close(code: number): void;
  pause(): void;
  resume(): void;
  isPaused(): boolean;
  on(event: "response" | "trailers", listener: (headers: IncomingHttpHeaders, flags: number) => void): this;
  on(event: "data", listener: (chunk: Buffer) => void): this;
  on(event: "error", listener: (err: Error) => void): this;
  on(event: "close" | "drain", listener: () => void): this;
  off(event: "close" | "drain", listener: () => void): this;
}

/**
 * The part of an HTTP/2 client session that `Http2Connection` and the keepalive use. `node:http2`'s
 * `ClientHttp2Session` is one, and so is the h2-net transport's `H2Session`.
 */
export interface GrpcSession {
  /** True once closing or closed. */
  readonly closed: boolean;
  /** True once the session is gone. */
  readonly destroyed: boolean;
  /** True until TCP (and TLS) are up. */
  readonly connecting: boolean;
  /** Opens a stream for a request. */
  request(headers: OutgoingHttpHeaders, options?: { endStream?: boolean }): GrpcStream;
  /** Sends a PING; `callback` gets its ack or an error. False when the session cannot ping. */
  ping(callback: (err: Error | null, duration: number, payload: Buffer) => void): boolean;
  /** Ends the session once its streams are over. */
  close(): void;
  /** Tears the session down at once. */
  destroy(error?: Error): void;
  ref(): void;
  unref(): void;
  /** Raises the connection's receive window. */
  setLocalWindowSize(size: number): void;
  on(event: "error", listener: (err: Error) => void): this;
  on(event: "frameError" | "goaway", listener: () => void): this;
  on(event: "remoteSettings", listener: (settings: { maxConcurrentStreams?: number }) => void): this;
  once(event: "close", listener: () => void): this;
  once(event: "connect", listener: (session: unknown, socket: Duplex) => void): this;
}
