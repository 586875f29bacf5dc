import { describe, expect, it } from "vitest";
import { prng } from "../../../../test/support/prng.js";
import { Flag, FrameType, Setting } from "./constants.js";
import { H2NetProtocolError } from "./errors.js";
import { type FrameHandler, FrameReader } from "./frame-reader.js";
import {
  frame,
  goawayFrame,
  headersFrames,
  pingFrame,
  rstStreamFrame,
  windowUpdateFrame,
} from "./frame-writer.js";

const ITERATIONS = 2_000;

/** Counts what the reader hands on and checks each frame's promises (lengths, ids). */
function checkingHandler() {
  let handed = 0;
  const handler: FrameHandler = {
    onData: (id, data, _end, flow) => {
      expect(id).toBeGreaterThan(0);
      expect(data.byteLength).toBeLessThanOrEqual(flow);
      handed++;
    },
    onHeaders: (id, block) => {
      expect(id).toBeGreaterThan(0);
      expect(block.byteLength).toBeLessThanOrEqual(64 * 1024);
      handed++;
    },
    onRstStream: (id) => {
      expect(id).toBeGreaterThan(0);
      handed++;
    },
    onSettings: () => handed++,
    onPing: (_ack, payload) => {
      expect(payload.byteLength).toBe(8);
      handed++;
    },
    onGoaway: () => handed++,
    onWindowUpdate: (_id, increment) => {
      expect(increment).toBeGreaterThan(0);
      handed++;
    },
    onStreamError: (error) => {
      expect(error.streamId).toBeGreaterThan(0);
      handed++;
    },
  };
  return { handler, handed: () => handed };
}

/** A valid frame sequence to mutate. */
function validStream(next: () => number): Buffer {
  const parts: Buffer[] = [
    frame(FrameType.SETTINGS, 0, 0, Buffer.from([0, Setting.MAX_CONCURRENT_STREAMS, 0, 0, 0, 9])),
  ];
  const count = 1 + Math.floor(next() * 12);
  for (let i = 0; i < count; i++) {
    const stream = 1 + 2 * Math.floor(next() * 8);
    switch (Math.floor(next() * 7)) {
      case 0:
        parts.push(headersFrames(stream, Buffer.alloc(Math.floor(next() * 200), 7), next() < 0.5, 64));
        break;
      case 1:
        parts.push(
          frame(
            FrameType.DATA,
            next() < 0.3 ? Flag.END_STREAM : 0,
            stream,
            Buffer.alloc(Math.floor(next() * 300), 1),
          ),
        );
        break;
      case 2:
        parts.push(frame(FrameType.DATA, Flag.PADDED, stream, Buffer.from([2, 9, 9, 0, 0])));
        break;
      case 3:
        parts.push(pingFrame(Buffer.alloc(8, i), next() < 0.5));
        break;
      case 4:
        parts.push(windowUpdateFrame(next() < 0.5 ? 0 : stream, 1 + Math.floor(next() * 1000)));
        break;
      case 5:
        parts.push(rstStreamFrame(stream, Math.floor(next() * 14)));
        break;
      default:
        parts.push(goawayFrame(stream, 0, "x"));
    }
  }
  return Buffer.concat(parts);
}

/** Feeds `bytes` in random chunks; returns the error if one was thrown. */
function feed(bytes: Buffer, next: () => number): unknown {
  const { handler } = checkingHandler();
  const reader = new FrameReader(handler);
  try {
    for (let at = 0; at < bytes.byteLength; ) {
      const size = 1 + Math.floor(next() * 64);
      reader.push(bytes.subarray(at, at + size));
      at += size;
    }
  } catch (err) {
    return err;
  }
  return undefined;
}

describe("FrameReader fuzz (seeded, bounded)", () => {
  it(`random bytes (${ITERATIONS} inputs): parsed or H2NetProtocolError, nothing else`, () => {
    const next = prng(0x2526);
    for (let i = 0; i < ITERATIONS; i++) {
      // Half start with a valid SETTINGS, so the rest is read as frames rather than refused at once.
      const prefix = next() < 0.5 ? frame(FrameType.SETTINGS, 0, 0, Buffer.alloc(0)) : Buffer.alloc(0);
      const noise = Buffer.from(
        Array.from({ length: Math.floor(next() * 512) }, () => Math.floor(next() * 256)),
      );
      const error = feed(Buffer.concat([prefix, noise]), next);
      if (error !== undefined && !(error instanceof H2NetProtocolError)) throw error;
    }
  });

  it(`mutated valid streams (${ITERATIONS} inputs): parsed or H2NetProtocolError, nothing else`, () => {
    const next = prng(0x9113);
    let parsed = 0;
    for (let i = 0; i < ITERATIONS; i++) {
      const bytes = validStream(next);
      const mutations = Math.floor(next() * 4);
      for (let m = 0; m < mutations; m++) {
        const at = Math.floor(next() * bytes.byteLength);
        bytes[at] = next() < 0.5 ? Math.floor(next() * 256) : bytes[at]! ^ (1 << Math.floor(next() * 8));
      }
      const error = feed(bytes, next);
      if (error === undefined) parsed++;
      else if (!(error instanceof H2NetProtocolError)) throw error;
    }
    // The mutations leave many inputs valid: the reader is exercised past the first frame.
    expect(parsed).toBeGreaterThan(ITERATIONS / 10);
  });
});
