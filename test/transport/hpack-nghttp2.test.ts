import { once } from "node:events";
import {
  createServer,
  type Http2Server,
  type OutgoingHttpHeaders,
  type ServerHttp2Session,
} from "node:http2";
import { connect, type Socket } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { type HeaderField, HpackDecoder } from "../../src/client/transport/h2-net/hpack/decoder.js";
import { encodeHeaderBlock } from "../../src/client/transport/h2-net/hpack/encoder.js";

// The HPACK encoder and decoder against another implementation: node:http2's nghttp2. A raw HTTP/2
// client (just enough framing for this test) sends requests whose header blocks `encodeHeaderBlock`
// made; an http2 server echoes every request header back in its response headers, which nghttp2's
// encoder compresses with its dynamic table and Huffman coding, and `HpackDecoder` decodes. Both
// directions agree byte for byte, including bytes 0x80 to 0xff, a block split across CONTINUATION
// frames, and (with a 256-byte table advertised) nghttp2's size update and evictions.

const PREFACE = Buffer.from("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", "latin1");
const DATA = 0x0;
const HEADERS = 0x1;
const RST_STREAM = 0x3;
const SETTINGS = 0x4;
const GOAWAY = 0x7;
const CONTINUATION = 0x9;
const END_STREAM = 0x1;
const END_HEADERS = 0x4;
const ACK = 0x1;
const PADDED = 0x8;
const PRIORITY = 0x20;
const MAX_FRAME = 16384;

function frame(type: number, flags: number, streamId: number, payload: Uint8Array): Buffer {
  const header = Buffer.alloc(9);
  header.writeUIntBE(payload.length, 0, 3);
  header[3] = type;
  header[4] = flags;
  header.writeUInt32BE(streamId, 5);
  return Buffer.concat([header, payload]);
}

/** A header block as HEADERS (END_STREAM) plus CONTINUATION frames of at most 16 KiB each. */
function headerFrames(streamId: number, block: Uint8Array): Buffer {
  const frames: Buffer[] = [];
  for (let offset = 0; offset === 0 || offset < block.length; offset += MAX_FRAME) {
    const last = offset + MAX_FRAME >= block.length;
    const type = offset === 0 ? HEADERS : CONTINUATION;
    const flags = (offset === 0 ? END_STREAM : 0) | (last ? END_HEADERS : 0);
    frames.push(frame(type, flags, streamId, block.subarray(offset, offset + MAX_FRAME)));
  }
  return Buffer.concat(frames);
}

/** The client side of one connection: sends requests, decodes every header block the server sends. */
class RawClient {
  readonly decoder: HpackDecoder;
  /** The raw blocks received, in order (to look at their first bytes). */
  readonly blocks: Uint8Array[] = [];
  readonly #socket: Socket;
  #pending = Buffer.alloc(0);
  #block: Buffer[] = [];
  #blockStream = 0;
  readonly #lists = new Map<number, HeaderField[][]>();
  readonly #waiters = new Map<number, { resolve: () => void; reject: (error: Error) => void }>();
  /** CONTINUATION frames received. */
  continuations = 0;

  constructor(socket: Socket, decoder: HpackDecoder) {
    this.#socket = socket;
    this.decoder = decoder;
    socket.on("data", (chunk: Buffer) => {
      try {
        this.#onData(chunk);
      } catch (error) {
        this.#failAll(error as Error);
      }
    });
    socket.on("close", () => this.#failAll(new Error("the server closed the connection")));
  }

  /** Ends every request waiting for an answer with `error` (a refused block must not hang the test). */
  #failAll(error: Error): void {
    for (const waiter of this.#waiters.values()) waiter.reject(error);
    this.#waiters.clear();
  }

  /** Sends a request's block on `streamId` and resolves with its response headers and trailers. */
  async request(streamId: number, headers: HeaderField[]): Promise<HeaderField[][]> {
    const done = new Promise<void>((resolve, reject) => this.#waiters.set(streamId, { resolve, reject }));
    this.#socket.write(headerFrames(streamId, encodeHeaderBlock(headers)));
    await done;
    return this.#lists.get(streamId)!;
  }

  #onData(chunk: Buffer): void {
    this.#pending = Buffer.concat([this.#pending, chunk]);
    while (this.#pending.length >= 9) {
      const length = this.#pending.readUIntBE(0, 3);
      if (this.#pending.length < 9 + length) return;
      const type = this.#pending[3]!;
      const flags = this.#pending[4]!;
      const streamId = this.#pending.readUInt32BE(5) & 0x7fffffff;
      const payload = this.#pending.subarray(9, 9 + length);
      this.#pending = this.#pending.subarray(9 + length);
      this.#onFrame(type, flags, streamId, payload);
    }
  }

  #onFrame(type: number, flags: number, streamId: number, payload: Buffer): void {
    if (type === SETTINGS && !(flags & ACK)) this.#socket.write(frame(SETTINGS, ACK, 0, new Uint8Array(0)));
    if (type === GOAWAY) throw new Error(`GOAWAY with error code ${payload.readUInt32BE(4)}`);
    if (type === RST_STREAM)
      this.#waiters.get(streamId)?.reject(new Error(`RST_STREAM with error code ${payload.readUInt32BE(0)}`));
    if (type === HEADERS) {
      let start = 0;
      let end = payload.length;
      if (flags & PADDED) {
        end -= payload[0]!;
        start = 1;
      }
      if (flags & PRIORITY) start += 5;
      this.#block = [payload.subarray(start, end)];
      this.#blockStream = streamId;
    } else if (type === CONTINUATION) {
      this.continuations++;
      this.#block.push(payload);
    }
    if ((type === HEADERS || type === CONTINUATION) && flags & END_HEADERS) {
      const block = Buffer.concat(this.#block);
      this.blocks.push(block);
      const lists = this.#lists.get(this.#blockStream) ?? [];
      lists.push(this.decoder.decode(block));
      this.#lists.set(this.#blockStream, lists);
    }
    // The stream ends with the trailers' HEADERS (or an empty DATA before them: wait for both).
    const lists = this.#lists.get(streamId);
    if ((type === HEADERS || type === DATA) && flags & END_STREAM && lists?.length === 2)
      this.#waiters.get(streamId)?.resolve();
  }
}

let server: Http2Server | undefined;
let socket: Socket | undefined;
const sessions = new Set<ServerHttp2Session>();

afterEach(async () => {
  socket?.destroy();
  socket = undefined;
  for (const session of sessions) session.destroy();
  sessions.clear();
  if (server) {
    const closed = once(server, "close");
    server.close();
    await closed;
    server = undefined;
  }
});

/** Starts the echo server and a raw client advertising `headerTableSize` (when given). */
async function start(headerTableSize?: number): Promise<{ client: RawClient; authority: string }> {
  server = createServer();
  // Destroyed after each test, so close() does not wait for the raw client to hang up.
  server.on("session", (session) => sessions.add(session));
  server.on("stream", (stream, headers) => {
    const echo: OutgoingHttpHeaders = { ":status": 200, "content-type": "application/grpc" };
    for (const [name, value] of Object.entries(headers))
      if (!name.startsWith(":") && typeof value === "string") echo[`x-echo-${name}`] = value;
    echo["x-echo-path"] = headers[":path"];
    stream.respond(echo, { waitForTrailers: true });
    stream.on("wantTrailers", () => stream.sendTrailers({ "grpc-status": "0", "grpc-message": "ok" }));
    stream.end();
  });
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  const port = (server.address() as { port: number }).port;
  socket = connect(port, "127.0.0.1");
  await once(socket, "connect");
  const settings = Buffer.alloc(headerTableSize === undefined ? 0 : 6);
  if (headerTableSize !== undefined) {
    settings.writeUInt16BE(0x1, 0); // SETTINGS_HEADER_TABLE_SIZE
    settings.writeUInt32BE(headerTableSize, 2);
  }
  socket.write(Buffer.concat([PREFACE, frame(SETTINGS, 0, 0, settings)]));
  const decoder = new HpackDecoder(headerTableSize === undefined ? {} : { maxTableSize: headerTableSize });
  return { client: new RawClient(socket, decoder), authority: `127.0.0.1:${port}` };
}

/** Bytes 0x21 to 0x7e and 0x80 to 0xff: every byte an HTTP field value may hold but space, tab and DEL. */
const HIGH_AND_VISIBLE = String.fromCharCode(
  ...Array.from({ length: 0xff - 0x21 + 1 }, (_, i) => 0x21 + i).filter((c) => c !== 0x7f),
);

function request(authority: string, i: number, extra: HeaderField[] = []): HeaderField[] {
  return [
    [":method", "POST"],
    [":scheme", "http"],
    [":path", `/etcdserverpb.KV/${i % 2 === 0 ? "Range" : "Put"}`],
    [":authority", authority],
    ["content-type", "application/grpc"],
    ["te", "trailers"],
    ["user-agent", "etcd-ts/hpack-interop"],
    ["grpc-timeout", `${1000 + i}m`],
    ["x-seq", String(i)],
    ["x-bytes", HIGH_AND_VISIBLE],
    ...extra,
  ];
}

function expectEcho(lists: HeaderField[][], sent: HeaderField[]): void {
  const [headers, trailers] = lists;
  const got = new Map(headers);
  expect(got.get(":status")).toBe("200");
  expect(got.get("content-type")).toBe("application/grpc");
  expect(got.get("x-echo-path")).toBe(new Map(sent).get(":path"));
  for (const [name, value] of sent)
    if (!name.startsWith(":")) expect(got.get(`x-echo-${name}`), name).toBe(value);
  expect(trailers).toEqual([
    ["grpc-status", "0"],
    ["grpc-message", "ok"],
  ]);
}

describe("HPACK against nghttp2 (node:http2)", () => {
  it("nghttp2 decodes the encoder's blocks and the decoder decodes nghttp2's, dynamic table and all", async () => {
    const { client, authority } = await start();
    for (let i = 0; i < 30; i++) {
      const sent = request(authority, i);
      expectEcho(await client.request(2 * i + 1, sent), sent);
    }
    // nghttp2 indexed the repeated response fields: later blocks were mostly references to them.
    expect(client.decoder.tableSize).toBeGreaterThan(0);
    expect(client.decoder.tableSize).toBeLessThanOrEqual(4096);
    expect(client.blocks.at(-2)!.length).toBeLessThan(client.blocks[0]!.length / 4);
  });

  it("carries a block split across CONTINUATION frames both ways", async () => {
    const { client, authority } = await start();
    const big = "\xfe!".repeat(12_000); // 24 KB, plain (0xfe has a 27-bit code): two frames.
    const sent = request(authority, 0, [["x-big", big]]);
    expect(encodeHeaderBlock(sent).length).toBeGreaterThan(MAX_FRAME);
    expectEcho(await client.request(1, sent), sent);
    expect(client.continuations).toBeGreaterThan(0);
  });

  it("follows nghttp2's size update when the client advertises a 256-byte table", async () => {
    const { client, authority } = await start(256);
    for (let i = 0; i < 10; i++) {
      const sent = request(authority, i);
      expectEcho(await client.request(2 * i + 1, sent), sent);
    }
    // The first block began with a dynamic table size update (001xxxxxx) down from 4096.
    expect(client.blocks[0]![0]! & 0xe0).toBe(0x20);
    expect(client.decoder.tableSize).toBeLessThanOrEqual(256);
  });
});
