import { once } from "node:events";
import { createServer, type Server, type Socket } from "node:net";
import { CLIENT_PREFACE, Flag, FrameType } from "../../src/client/transport/h2-net/constants.js";
import { FrameReader } from "../../src/client/transport/h2-net/frame-reader.js";
import {
  frameHeader,
  headersFrames,
  frame as rawFrame,
} from "../../src/client/transport/h2-net/frame-writer.js";
import { encodeHeaderBlock } from "../../src/client/transport/h2-net/hpack/index.js";

/** A frame the test server received from the client. */
export interface ClientFrame {
  type: "data" | "headers" | "rst" | "settings" | "ping" | "goaway" | "window" | "stream-error";
  streamId: number;
  ack?: boolean;
  endStream?: boolean;
  errorCode?: number;
  bytes?: number;
}

/** One client connection as the test server sees it. */
export class TestConnection {
  readonly socket: Socket;
  readonly frames: ClientFrame[] = [];
  /**
   * Whether the client's SETTINGS are acknowledged (once the server sent its own, as a real server does);
   * set it to false in `onConnection` for a server that never acknowledges them.
   */
  ackSettings = true;
  #sentSettings = false;
  #unackedSettings = 0;
  /** Resolves when the socket closed. */
  readonly closed: Promise<void>;
  #waiters: Array<() => void> = [];
  #preface = Buffer.alloc(0);
  readonly #reader: FrameReader;

  constructor(socket: Socket) {
    this.socket = socket;
    this.closed = once(socket, "close").then(() => undefined);
    socket.on("error", () => {});
    const record = (frame: ClientFrame) => {
      this.frames.push(frame);
      for (const wake of this.#waiters.splice(0)) wake();
    };
    // The client's frames, read by the client's own reader (the client preface's SETTINGS comes first).
    this.#reader = new FrameReader(
      {
        onData: (streamId, data, endStream) =>
          record({ type: "data", streamId, endStream, bytes: data.byteLength }),
        onHeaders: (streamId, _block, endStream) => record({ type: "headers", streamId, endStream }),
        onRstStream: (streamId, errorCode) => record({ type: "rst", streamId, errorCode }),
        onSettings: (ack) => {
          record({ type: "settings", streamId: 0, ack });
          if (!ack) {
            this.#unackedSettings++;
            this.#ackSettings();
          }
        },
        onPing: (ack) => record({ type: "ping", streamId: 0, ack }),
        onGoaway: (_last, errorCode) => record({ type: "goaway", streamId: 0, errorCode }),
        onWindowUpdate: (streamId, increment) => record({ type: "window", streamId, bytes: increment }),
        onStreamError: (error) => record({ type: "stream-error", streamId: error.streamId }),
      },
      {
        maxFrameSize: 16_384,
        maxHeaderBlockBytes: 1 << 20,
        maxContinuationFrames: 1_000,
        maxControlFramesInRow: 1 << 30,
      },
    );
    socket.on("data", (chunk: Buffer) => this.#onData(chunk));
  }

  /** Sends raw bytes (ignored once the socket is gone). */
  send(bytes: Buffer): void {
    if (!this.socket.destroyed && this.socket.writable) this.socket.write(bytes);
  }

  /** Sends a SETTINGS frame with `pairs`. */
  sendSettings(pairs: [number, number][] = []): void {
    const payload = Buffer.alloc(pairs.length * 6);
    pairs.forEach(([id, value], i) => {
      payload.writeUInt16BE(id, i * 6);
      payload.writeUInt32BE(value, i * 6 + 2);
    });
    this.send(Buffer.concat([frameHeader(payload.byteLength, FrameType.SETTINGS, 0, 0), payload]));
    this.#sentSettings = true;
    this.#ackSettings();
  }

  #ackSettings(): void {
    if (!this.ackSettings || !this.#sentSettings) return;
    for (; this.#unackedSettings > 0; this.#unackedSettings--)
      this.send(frameHeader(0, FrameType.SETTINGS, Flag.ACK, 0));
  }

  /** Resolves with the first received frame that matches (waiting for it). */
  async next(match: (frame: ClientFrame) => boolean): Promise<ClientFrame> {
    for (;;) {
      const found = this.frames.find(match);
      if (found) return found;
      await new Promise<void>((resolve) => this.#waiters.push(resolve));
    }
  }

  /** Answers a unary call on `streamId`: headers, one empty message, trailers with grpc-status 0. */
  answer(streamId: number): void {
    this.send(
      Buffer.concat([
        headersFrames(streamId, responseHeaders(), false, 16_384),
        frameHeader(5, FrameType.DATA, 0, streamId),
        Buffer.alloc(5),
        headersFrames(streamId, encodeHeaderBlock([["grpc-status", "0"]]), true, 16_384),
      ]),
    );
  }

  #onData(chunk: Buffer): void {
    let bytes = chunk;
    if (this.#preface.byteLength < CLIENT_PREFACE.byteLength) {
      const need = CLIENT_PREFACE.byteLength - this.#preface.byteLength;
      this.#preface = Buffer.concat([this.#preface, bytes.subarray(0, need)]);
      bytes = bytes.subarray(need);
      if (bytes.byteLength === 0) return;
    }
    try {
      this.#reader.push(bytes);
    } catch {
      this.socket.destroy();
    }
  }
}

/** The header block of a gRPC response's headers. */
export function responseHeaders(): Uint8Array {
  return encodeHeaderBlock([
    [":status", "200"],
    ["content-type", "application/grpc"],
  ]);
}

export { Flag, FrameType, rawFrame };

/**
 * A plain-TCP HTTP/2 server on 127.0.0.1 (a free port) that does what each test tells it with every
 * connection: the hostile server of the h2-net limit tests.
 */
export async function startH2TestServer(onConnection: (connection: TestConnection) => void): Promise<{
  url: string;
  connections: TestConnection[];
  close(): Promise<void>;
}> {
  const connections: TestConnection[] = [];
  const server: Server = createServer((socket) => {
    const connection = new TestConnection(socket);
    connections.push(connection);
    onConnection(connection);
  });
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  const address = server.address();
  if (address === null || typeof address === "string") throw new Error("no TCP address");
  return {
    url: `http://127.0.0.1:${address.port}`,
    connections,
    async close() {
      for (const connection of connections) connection.socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
