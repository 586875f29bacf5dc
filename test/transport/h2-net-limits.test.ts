// The h2-net transport against a hostile HTTP/2 server: each limit exceeded ends the connection with a
// typed error (H2NetProtocolError and its code) as the cause of the calls' UNAVAILABLE, a GOAWAY naming
// the HTTP/2 error, and the socket closed, without unbounded buffering or a loop.
import { Code, ConnectError, createClient } from "@connectrpc/connect";
import { afterEach, describe, expect, it } from "vitest";
import { classifyFailure, wasNotSent } from "../../src/client/core/failure.js";
import { ErrorCode, Setting } from "../../src/client/transport/h2-net/constants.js";
import {
  frameHeader,
  headersFrames,
  pingFrame,
  windowUpdateFrame,
} from "../../src/client/transport/h2-net/frame-writer.js";
import { encodeHeaderBlock } from "../../src/client/transport/h2-net/hpack/index.js";
import {
  createH2NetTransport,
  type H2NetErrorCode,
  H2NetProtocolError,
} from "../../src/client/transport/h2-net/index.js";
import type { Http2Transport } from "../../src/client/transport/http2/index.js";
import { KV, Watch } from "../../src/gen/etcdserverpb/rpc_pb.js";
import {
  Flag,
  FrameType,
  rawFrame,
  responseHeaders,
  startH2TestServer,
  type TestConnection,
} from "../support/h2-test-server.js";
import { within } from "../support/wait.js";

const te = new TextEncoder();
const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** A server doing `hostile` once the client's first HEADERS arrived, and a transport to it. */
async function setup(
  hostile: (connection: TestConnection, streamId: number) => void,
  settings: [number, number][] = [],
) {
  const server = await startH2TestServer((connection) => {
    connection.sendSettings(settings);
    void connection.next((f) => f.type === "headers").then((f) => hostile(connection, f.streamId));
  });
  const transport = createH2NetTransport({ baseUrl: server.url });
  cleanups.push(
    () => server.close(),
    () => transport.close(),
  );
  return { server, transport };
}

/** The H2NetProtocolError in an error's cause chain. */
function protocolErrorOf(error: unknown): H2NetProtocolError | undefined {
  for (let e: unknown = error; e instanceof Error; e = e.cause) if (e instanceof H2NetProtocolError) return e;
  return undefined;
}

/** `error` is a `ConnectError` of `grpcCode` with an `H2NetProtocolError` of `code` in its cause chain. */
function expectProtocolError(error: unknown, grpcCode: Code, code: H2NetErrorCode): H2NetProtocolError {
  expect(error).toBeInstanceOf(ConnectError);
  expect((error as ConnectError).code).toBe(grpcCode);
  const cause = protocolErrorOf(error);
  expect(cause, String(error)).toBeInstanceOf(H2NetProtocolError);
  expect(cause!.code).toBe(code);
  return cause!;
}

/** The call fails with UNAVAILABLE caused by `code`; the server got our GOAWAY and lost the connection. */
async function expectConnectionEnded(
  call: Promise<unknown>,
  connection: () => TestConnection,
  code: H2NetErrorCode,
) {
  const error = await within(
    call.then(
      () => undefined,
      (e: unknown) => e,
    ),
    "the call to fail",
  );
  const cause = expectProtocolError(error, Code.Unavailable, code);
  await within(connection().closed, "the h2-net call or connection to end");
  const goaway = connection().frames.find((f) => f.type === "goaway");
  expect(goaway?.errorCode).toBe(cause.http2Code);
  return cause;
}

const range = (transport: Http2Transport) => createClient(KV, transport).range({ key: te.encode("k") });

describe("h2-net against a hostile server: each limit ends the connection with a typed error", () => {
  it("a frame above our SETTINGS_MAX_FRAME_SIZE: refused from its header, its payload never awaited", async () => {
    const { server, transport } = await setup((c, id) => {
      // 16 MB announced, 100 bytes sent: a client that buffered the payload would wait forever.
      c.send(Buffer.concat([frameHeader(16_000_000, FrameType.DATA, 0, id), Buffer.alloc(100)]));
    });
    await expectConnectionEnded(range(transport), () => server.connections[0]!, "FRAME_TOO_LARGE");
  });

  it("a CONTINUATION flood (empty CONTINUATIONs without end) is cut off after the limit", async () => {
    let sent = 0;
    const { server, transport } = await setup((c, id) => {
      c.send(rawFrame(FrameType.HEADERS, 0, id, Buffer.from(responseHeaders())));
      const empty = rawFrame(FrameType.CONTINUATION, 0, id, Buffer.alloc(0));
      const batch = Buffer.concat(Array.from({ length: 1_000 }, () => empty));
      // Floods until the client closes the connection.
      const flood = () => {
        if (c.socket.destroyed || !c.socket.writable) return;
        sent += 1_000;
        c.socket.write(batch, () => setImmediate(flood));
      };
      flood();
    });
    await expectConnectionEnded(range(transport), () => server.connections[0]!, "CONTINUATION_FLOOD");
    expect(sent).toBeGreaterThan(0);
  });

  it("a header block larger than the limit, in HEADERS and CONTINUATIONs", async () => {
    const { server, transport } = await setup((c, id) => {
      const chunk = Buffer.alloc(16_000, 0x41);
      c.send(rawFrame(FrameType.HEADERS, 0, id, chunk));
      for (let i = 0; i < 8; i++) c.send(rawFrame(FrameType.CONTINUATION, 0, id, chunk));
    });
    await expectConnectionEnded(range(transport), () => server.connections[0]!, "HEADER_LIST_TOO_LARGE");
  });

  it("an HPACK bomb: a small block that decodes to a header list above SETTINGS_MAX_HEADER_LIST_SIZE", async () => {
    const { server, transport } = await setup((c, id) => {
      // A 4000-byte value added to the dynamic table, then referenced 100 times: ~400 KB from ~4 KB.
      const value = Buffer.alloc(4_000, 0x61);
      const insert = Buffer.concat([Buffer.from([0x40, 0x01, 0x78, 0x7f, 0xa1, 0x1e]), value]);
      const block = Buffer.concat([insert, Buffer.alloc(100, 0x80 | 62)]);
      c.send(rawFrame(FrameType.HEADERS, Flag.END_HEADERS, id, block));
    });
    await expectConnectionEnded(range(transport), () => server.connections[0]!, "HEADER_LIST_TOO_LARGE");
  });

  it("an HPACK dynamic table size update above our SETTINGS_HEADER_TABLE_SIZE", async () => {
    const { server, transport } = await setup((c, id) => {
      // Size update to 2^20: 0x3f then 2^20 - 31 as a 7-bit-per-byte integer.
      let rest = (1 << 20) - 31;
      const bytes = [0x3f];
      while (rest >= 128) {
        bytes.push((rest & 0x7f) | 0x80);
        rest >>>= 7;
      }
      bytes.push(rest);
      c.send(
        rawFrame(
          FrameType.HEADERS,
          Flag.END_HEADERS,
          id,
          Buffer.concat([Buffer.from(bytes), Buffer.from(responseHeaders())]),
        ),
      );
    });
    await expectConnectionEnded(range(transport), () => server.connections[0]!, "HPACK");
  });

  it("DATA beyond the stream window of a stream whose reader stopped reading", async () => {
    const { server, transport } = await setup((c, id) => {
      c.send(headersFrames(id, responseHeaders(), false, 16_384));
      // Valid 16 KB WatchResponses (one unknown field), 320 of them: ~5 MB, above the 4 MiB stream
      // window, which the client stops giving back once its reader holds 64 unread messages.
      const body = Buffer.alloc(16_000, 0x62);
      const message = Buffer.concat([Buffer.from([0xc2, 0x3e, 0x80, 0x7d]), body]);
      const framed = Buffer.concat([Buffer.from([0, 0, 0, 0, 0]), message]);
      framed.writeUInt32BE(message.byteLength, 1);
      for (let i = 0; i < 320; i++) c.send(rawFrame(FrameType.DATA, 0, id, framed));
    });
    const watch = createClient(Watch, transport).watch(
      (async function* () {
        yield { requestUnion: { case: "createRequest" as const, value: { key: te.encode("k") } } };
        await new Promise(() => {});
      })(),
    );
    const responses = watch[Symbol.asyncIterator]();
    await responses.next();
    // Nothing read now: the connection must fail on its own; then the reader finds the error.
    const cause = await within(server.connections[0]!.closed, "the h2-net call or connection to end").then(
      async () => {
        for (;;) {
          const result = await responses.next().then(
            (r) => r,
            (e: unknown) => e,
          );
          if (result instanceof Error) return protocolErrorOf(result);
          if ((result as IteratorResult<unknown>).done) return undefined;
        }
      },
    );
    expect(cause?.code).toBe("FLOW_CONTROL");
    expect(server.connections[0]!.frames.find((f) => f.type === "goaway")?.errorCode).toBe(
      ErrorCode.FLOW_CONTROL_ERROR,
    );
  });

  it("a WINDOW_UPDATE that overflows the connection window", async () => {
    const { server, transport } = await setup((c) => c.send(windowUpdateFrame(0, 2 ** 31 - 1)));
    await expectConnectionEnded(range(transport), () => server.connections[0]!, "FLOW_CONTROL");
  });

  it("a SETTINGS flood: ended after the limit, not every SETTINGS answered", async () => {
    const { server, transport } = await setup((c) => {
      const empty = rawFrame(FrameType.SETTINGS, 0, 0, Buffer.alloc(0));
      c.send(Buffer.concat(Array.from({ length: 5_000 }, () => empty)));
    });
    await expectConnectionEnded(range(transport), () => server.connections[0]!, "SETTINGS_FLOOD");
    const acks = server.connections[0]!.frames.filter((f) => f.type === "settings" && f.ack).length;
    expect(acks).toBeLessThanOrEqual(1_001);
  });

  it("a PING flood: ended after the limit, not every PING answered", async () => {
    const { server, transport } = await setup((c) => {
      const ping = pingFrame(Buffer.alloc(8), false);
      c.send(Buffer.concat(Array.from({ length: 5_000 }, () => ping)));
    });
    await expectConnectionEnded(range(transport), () => server.connections[0]!, "PING_FLOOD");
    const acks = server.connections[0]!.frames.filter((f) => f.type === "ping" && f.ack).length;
    expect(acks).toBeLessThanOrEqual(1_000);
  });

  it("a frame on a stream the client never opened (a server-initiated stream)", async () => {
    const { server, transport } = await setup((c) =>
      c.send(headersFrames(2, responseHeaders(), false, 16_384)),
    );
    await expectConnectionEnded(range(transport), () => server.connections[0]!, "UNKNOWN_STREAM");
  });

  it("a malformed frame (a PING of 7 bytes)", async () => {
    const { server, transport } = await setup((c) => c.send(rawFrame(FrameType.PING, 0, 0, Buffer.alloc(7))));
    await expectConnectionEnded(range(transport), () => server.connections[0]!, "MALFORMED_FRAME");
  });
});

describe("h2-net: a stream error (RFC 9113 section 5.4.2) ends only its stream", () => {
  it("a WINDOW_UPDATE of 0 on stream 0 still ends the connection", async () => {
    const { server, transport } = await setup((c) => c.send(windowUpdateFrame(0, 0)));
    await expectConnectionEnded(range(transport), () => server.connections[0]!, "MALFORMED_FRAME");
  });

  it.each([
    [
      "a WINDOW_UPDATE of 0 on a stream (section 6.9)",
      windowUpdateFrame(1, 0),
      "MALFORMED_FRAME",
      ErrorCode.PROTOCOL_ERROR,
    ],
    [
      "a PRIORITY of 4 bytes on a stream (section 6.3)",
      rawFrame(FrameType.PRIORITY, 0, 1, Buffer.alloc(4)),
      "FRAME_SIZE",
      ErrorCode.FRAME_SIZE_ERROR,
    ],
  ] as const)(
    "%s: RST_STREAM for it, its call fails with the typed error, the connection and the other calls go on",
    async (_what, bad, code, http2Code) => {
      // Stream 1 gets the bad frame; every other stream is answered.
      const server = await startH2TestServer((c) => {
        c.sendSettings();
        void (async () => {
          for (let id = 1; ; id += 2) {
            await c.next((f) => f.type === "headers" && f.streamId === id);
            if (id === 1) c.send(bad);
            else c.answer(id);
          }
        })();
      });
      const transport = createH2NetTransport({ baseUrl: server.url });
      cleanups.push(
        () => server.close(),
        () => transport.close(),
      );
      const kv = createClient(KV, transport);
      const settle = (call: Promise<unknown>) =>
        call.then(
          () => "ok" as const,
          (e: unknown) => e,
        );
      const [failed, other] = await within(
        Promise.all([settle(kv.range({ key: te.encode("a") })), settle(kv.range({ key: te.encode("b") }))]),
        "both calls to settle",
      );
      expect(expectProtocolError(failed, Code.Internal, code).streamId).toBe(1);
      expect(other).toBe("ok");
      // The connection goes on: a later call is answered on it.
      await within(kv.range({ key: te.encode("c") }), "a call after the stream error");
      const connection = server.connections[0]!;
      expect(server.connections.length).toBe(1);
      expect(connection.frames.find((f) => f.type === "rst" && f.streamId === 1)?.errorCode).toBe(http2Code);
      expect(connection.frames.some((f) => f.type === "goaway")).toBe(false);
    },
  );
});

describe("h2-net: a server that never acknowledges the client's SETTINGS", () => {
  it("loses the connection after connectTimeoutMs: the call fails with SETTINGS_TIMEOUT instead of hanging", async () => {
    const server = await startH2TestServer((c) => {
      c.ackSettings = false;
      c.sendSettings();
      // Never answers either: without the timeout the call would wait forever (it has no deadline).
    });
    const transport = createH2NetTransport({ baseUrl: server.url, connectTimeoutMs: 500 });
    cleanups.push(
      () => server.close(),
      () => transport.close(),
    );
    await expectConnectionEnded(range(transport), () => server.connections[0]!, "SETTINGS_TIMEOUT");
  });
});

describe("h2-net honours the server's SETTINGS and GOAWAY", () => {
  it("a paused reader gets every message of a stream the server ended and then reset (grpc-go's RST after END_STREAM)", async () => {
    const server = await startH2TestServer((c) => {
      c.sendSettings();
      void c
        .next((f) => f.type === "headers")
        .then((f) => {
          const empty = rawFrame(FrameType.DATA, 0, f.streamId, Buffer.alloc(5));
          c.send(
            Buffer.concat([
              headersFrames(f.streamId, responseHeaders(), false, 16_384),
              // One message per DATA frame: the reader pauses the stream at 64 unread, the rest is held.
              ...Array.from({ length: 100 }, () => empty),
              headersFrames(f.streamId, encodeHeaderBlock([["grpc-status", "0"]]), true, 16_384),
              rawFrame(FrameType.RST_STREAM, 0, f.streamId, Buffer.alloc(4)),
            ]),
          );
        });
    });
    const transport = createH2NetTransport({ baseUrl: server.url });
    cleanups.push(
      () => server.close(),
      () => transport.close(),
    );
    const watch = createClient(Watch, transport).watch(
      (async function* () {
        yield { requestUnion: { case: "createRequest" as const, value: { key: te.encode("k") } } };
      })(),
    );
    let read = 0;
    const all = (async () => {
      for await (const _ of watch) {
        read++;
        // A slow reader: the stream is paused while the server's END_STREAM and RST arrive.
        await new Promise((resolve) => setTimeout(resolve, 1));
      }
    })();
    await within(all, "every message read and the stream ended");
    expect(read).toBe(100);
  });

  it("never opens more streams than SETTINGS_MAX_CONCURRENT_STREAMS; the calls above it wait", async () => {
    let open = 0;
    let most = 0;
    const server = await startH2TestServer((c) => {
      c.sendSettings([[Setting.MAX_CONCURRENT_STREAMS, 2]]);
      const answered = new Set<number>();
      const serve = () => {
        for (const frame of c.frames) {
          if (frame.type !== "headers" || answered.has(frame.streamId)) continue;
          answered.add(frame.streamId);
          open++;
          most = Math.max(most, open);
          setTimeout(() => {
            open--;
            c.answer(frame.streamId);
          }, 20);
        }
      };
      c.socket.on("data", () => setImmediate(serve));
    });
    const transport = createH2NetTransport({ baseUrl: server.url });
    cleanups.push(
      () => server.close(),
      () => transport.close(),
    );
    const kv = createClient(KV, transport);
    await within(
      Promise.all(Array.from({ length: 10 }, () => kv.put({ key: te.encode("k") }))),
      "the h2-net call or connection to end",
    );
    expect(most).toBeGreaterThan(0);
    expect(most).toBeLessThanOrEqual(2);
  });

  it("after a GOAWAY, calls above its last stream id fail as not sent (retry-safe); the one below completes", async () => {
    const server = await startH2TestServer((c) => {
      c.sendSettings();
      void c
        .next((f) => f.type === "headers" && f.streamId === 5)
        .then(() => {
          c.send(rawFrame(FrameType.GOAWAY, 0, 0, Buffer.from([0, 0, 0, 1, 0, 0, 0, 0])));
          c.answer(1);
        });
    });
    const transport = createH2NetTransport({ baseUrl: server.url });
    cleanups.push(
      () => server.close(),
      () => transport.close(),
    );
    const kv = createClient(KV, transport);
    const calls = [1, 2, 3].map((i) =>
      kv.put({ key: te.encode(`k${i}`) }).then(
        () => "ok" as const,
        (e: unknown) => e,
      ),
    );
    const [first, second, third] = await within(Promise.all(calls), "the h2-net call or connection to end");
    expect(first).toBe("ok");
    for (const refused of [second, third]) {
      expect(refused).toBeInstanceOf(ConnectError);
      expect((refused as ConnectError).code).toBe(Code.Unavailable);
      expect(wasNotSent(refused)).toBe(true);
      expect(classifyFailure(refused)).toMatchObject({ kind: "unavailable", sent: false });
    }
  });

  it("a GOAWAY with an error code ends the connection; the next call opens a new one", async () => {
    const server = await startH2TestServer((c) => {
      c.sendSettings();
      void c
        .next((f) => f.type === "headers")
        .then((f) => {
          if (c === server.connections[0]) {
            const debug = Buffer.from("too_many_pings");
            const payload = Buffer.concat([
              Buffer.from([0, 0, 0, 1, 0, 0, 0, ErrorCode.ENHANCE_YOUR_CALM]),
              debug,
            ]);
            c.send(rawFrame(FrameType.GOAWAY, 0, 0, payload));
          } else c.answer(f.streamId);
        });
    });
    const transport = createH2NetTransport({ baseUrl: server.url });
    cleanups.push(
      () => server.close(),
      () => transport.close(),
    );
    const kv = createClient(KV, transport);
    const error = await within(
      kv.put({ key: te.encode("a") }).then(
        () => undefined,
        (e: unknown) => e,
      ),
      "the call to fail",
    );
    expect((error as ConnectError).code).toBe(Code.Unavailable);
    expect(String((error as ConnectError).message)).toMatch(/too_many_pings/);
    await within(kv.put({ key: te.encode("b") }), "the h2-net call or connection to end");
    expect(server.connections.length).toBe(2);
  });
});
