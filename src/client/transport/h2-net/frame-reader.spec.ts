import { describe, expect, it } from "vitest";
import { Flag, FrameType, Setting } from "./constants.js";
import { H2NetProtocolError } from "./errors.js";
import { DEFAULT_READER_LIMITS, type FrameHandler, FrameReader } from "./frame-reader.js";
import {
  frame,
  frameHeader,
  goawayFrame,
  headersFrames,
  pingFrame,
  rstStreamFrame,
  windowUpdateFrame,
} from "./frame-writer.js";

/** A handler that records every frame as a plain tuple. */
function recorder() {
  const frames: unknown[] = [];
  const handler: FrameHandler = {
    onData: (id, data, end, flow) => frames.push(["data", id, data.toString("latin1"), end, flow]),
    onHeaders: (id, block, end) => frames.push(["headers", id, block.toString("latin1"), end]),
    onRstStream: (id, code) => frames.push(["rst", id, code]),
    onSettings: (ack, settings) => frames.push(["settings", ack, settings.map((s) => [...s])]),
    onPing: (ack, payload) => frames.push(["ping", ack, payload.toString("hex")]),
    onGoaway: (last, code, debug) => frames.push(["goaway", last, code, debug.toString()]),
    onWindowUpdate: (id, increment) => frames.push(["window", id, increment]),
    onStreamError: (error) => frames.push(["stream-error", error.streamId, error.code]),
  };
  return { frames, handler };
}

const settings = (...pairs: [number, number][]) => {
  const payload = Buffer.alloc(pairs.length * 6);
  pairs.forEach(([id, value], i) => {
    payload.writeUInt16BE(id, i * 6);
    payload.writeUInt32BE(value, i * 6 + 2);
  });
  return frame(FrameType.SETTINGS, 0, 0, payload);
};
const SETTINGS = settings([Setting.MAX_CONCURRENT_STREAMS, 100]);

/** A connection's worth of frames of every kind. */
function sample(): Buffer {
  const padded = Buffer.concat([Buffer.from([3]), Buffer.from("abc"), Buffer.alloc(3)]);
  return Buffer.concat([
    SETTINGS,
    frame(FrameType.SETTINGS, Flag.ACK, 0, Buffer.alloc(0)),
    headersFrames(1, Buffer.from("x".repeat(40)), false, 16),
    frame(FrameType.DATA, 0, 1, Buffer.from("hello")),
    frame(FrameType.DATA, Flag.PADDED | Flag.END_STREAM, 1, padded),
    frame(0xfa, 0, 0, Buffer.from("unknown types are skipped")),
    frame(FrameType.PRIORITY, 0, 3, Buffer.alloc(5)),
    rstStreamFrame(3, 8),
    pingFrame(Buffer.from("01234567"), false),
    windowUpdateFrame(0, 1000),
    goawayFrame(5, 0, "bye"),
  ]);
}

function readAll(chunks: Buffer[]) {
  const { frames, handler } = recorder();
  const reader = new FrameReader(handler);
  for (const chunk of chunks) reader.push(chunk);
  return frames;
}

describe("FrameReader", () => {
  it("reads every frame type, joins CONTINUATIONs and strips padding", () => {
    expect(readAll([sample()])).toEqual([
      ["settings", false, [[Setting.MAX_CONCURRENT_STREAMS, 100]]],
      ["settings", true, []],
      ["headers", 1, "x".repeat(40), false],
      ["data", 1, "hello", false, 5],
      ["data", 1, "abc", true, 7],
      ["rst", 3, 8],
      ["ping", false, Buffer.from("01234567").toString("hex")],
      ["window", 0, 1000],
      ["goaway", 5, 0, "bye"],
    ]);
  });

  it("reads the same frames whatever the chunking: every split point, and byte by byte", () => {
    const bytes = sample();
    const whole = readAll([bytes]);
    for (let at = 1; at < bytes.byteLength; at++)
      expect(readAll([bytes.subarray(0, at), bytes.subarray(at)])).toEqual(whole);
    expect(readAll([...bytes].map((b) => Buffer.from([b])))).toEqual(whole);
  });

  const failures: [string, Buffer, string][] = [
    ["a frame before SETTINGS", pingFrame(Buffer.alloc(8), false), "MALFORMED_FRAME"],
    ["a frame above our max frame size", frameHeader(16_385, FrameType.DATA, 0, 1), "FRAME_TOO_LARGE"],
    ["DATA on stream 0", frame(FrameType.DATA, 0, 0, Buffer.alloc(1)), "MALFORMED_FRAME"],
    [
      "padding longer than the payload",
      frame(FrameType.DATA, Flag.PADDED, 1, Buffer.from([9, 1])),
      "MALFORMED_FRAME",
    ],
    ["a PING of 7 bytes", frame(FrameType.PING, 0, 0, Buffer.alloc(7)), "MALFORMED_FRAME"],
    ["a SETTINGS of 5 bytes", frame(FrameType.SETTINGS, 0, 0, Buffer.alloc(5)), "MALFORMED_FRAME"],
    [
      "SETTINGS_INITIAL_WINDOW_SIZE above 2^31-1",
      settings([Setting.INITIAL_WINDOW_SIZE, 2 ** 31]),
      "FLOW_CONTROL",
    ],
    ["SETTINGS_MAX_FRAME_SIZE below 16384", settings([Setting.MAX_FRAME_SIZE, 100]), "MALFORMED_FRAME"],
    [
      "a PUSH_PROMISE",
      frame(FrameType.PUSH_PROMISE, Flag.END_HEADERS, 1, Buffer.alloc(4)),
      "MALFORMED_FRAME",
    ],
    ["a WINDOW_UPDATE of 0 on stream 0", windowUpdateFrame(0, 0), "MALFORMED_FRAME"],
    [
      "a CONTINUATION without HEADERS",
      frame(FrameType.CONTINUATION, Flag.END_HEADERS, 1, Buffer.alloc(1)),
      "MALFORMED_FRAME",
    ],
    [
      "another frame inside a header block",
      Buffer.concat([frame(FrameType.HEADERS, 0, 1, Buffer.alloc(1)), pingFrame(Buffer.alloc(8), false)]),
      "MALFORMED_FRAME",
    ],
    [
      "a header block above the limit",
      Buffer.concat([
        frame(FrameType.HEADERS, 0, 1, Buffer.alloc(16_000)),
        ...Array.from({ length: 4 }, () => frame(FrameType.CONTINUATION, 0, 1, Buffer.alloc(16_000))),
      ]),
      "HEADER_LIST_TOO_LARGE",
    ],
    [
      "a CONTINUATION flood",
      Buffer.concat([
        frame(FrameType.HEADERS, 0, 1, Buffer.alloc(1)),
        ...Array.from({ length: 100 }, () => frame(FrameType.CONTINUATION, 0, 1, Buffer.alloc(0))),
      ]),
      "CONTINUATION_FLOOD",
    ],
    [
      "a PING flood",
      Buffer.concat(Array.from({ length: 1_001 }, () => pingFrame(Buffer.alloc(8), false))),
      "PING_FLOOD",
    ],
    ["a SETTINGS flood", Buffer.concat(Array.from({ length: 1_001 }, () => SETTINGS)), "SETTINGS_FLOOD"],
  ];

  it.each(failures)("throws H2NetProtocolError for %s", (name, bytes, code) => {
    const first = name === "a frame before SETTINGS" ? [] : [SETTINGS];
    const { handler } = recorder();
    const reader = new FrameReader(handler);
    let thrown: unknown;
    try {
      for (const chunk of [...first, bytes]) reader.push(chunk);
    } catch (err) {
      thrown = err;
    }
    expect(thrown).toBeInstanceOf(H2NetProtocolError);
    expect((thrown as H2NetProtocolError).code).toBe(code);
    // The reader is spent: the same error again, whatever follows.
    expect(() => reader.push(SETTINGS)).toThrow(thrown as Error);
  });

  it("hands on a stream's WINDOW_UPDATE of 0 and a PRIORITY not of 5 bytes as stream errors, and reads on", () => {
    const frames = readAll([
      SETTINGS,
      windowUpdateFrame(1, 0),
      frame(FrameType.PRIORITY, 0, 3, Buffer.alloc(4)),
      windowUpdateFrame(0, 7),
    ]);
    expect(frames.slice(1)).toEqual([
      ["stream-error", 1, "MALFORMED_FRAME"],
      ["stream-error", 3, "FRAME_SIZE"],
      ["window", 0, 7],
    ]);
  });

  it("counts SETTINGS and PINGs in a row: a HEADERS or DATA between them starts the count again", () => {
    const burst = Buffer.concat(
      Array.from({ length: DEFAULT_READER_LIMITS.maxControlFramesInRow }, () =>
        pingFrame(Buffer.alloc(8), false),
      ),
    );
    const data = frame(FrameType.DATA, 0, 1, Buffer.from("x"));
    expect(() => readAll([SETTINGS, burst.subarray(17), data, burst, data, burst])).not.toThrow();
  });

  it("rejects a frame above the limit from its header, before its payload arrives", () => {
    const { handler } = recorder();
    const reader = new FrameReader(handler);
    reader.push(SETTINGS);
    expect(() => reader.push(frameHeader(16_000_000, FrameType.DATA, 0, 1))).toThrow(/16000000 bytes/);
  });
});
