import { type ClientHttp2Stream, constants } from "node:http2";
import { Code } from "@connectrpc/connect";
import { describe, expect, it } from "vitest";
import { wasNotSent } from "../../core/failure.js";
import { errorOfEndedStream } from "./call-outcome.js";
import type { Http2Connection } from "./connection.js";

/** A stream the server reset with `rstCode` after it got an id (so the request was sent). */
function resetStream(rstCode: number): ClientHttp2Stream {
  return { id: 1, rstCode } as unknown as ClientHttp2Stream;
}

const liveConnection = {
  gone: false,
  failure: undefined,
  origin: "http://127.0.0.1:1",
} as unknown as Http2Connection;

describe("errorOfEndedStream", () => {
  it("a CANCEL reset before the deadline is a cancel", () => {
    const err = errorOfEndedStream(resetStream(constants.NGHTTP2_CANCEL), liveConnection, undefined, {
      at: performance.now() + 60_000,
    });
    expect(err.code).toBe(Code.Canceled);
  });

  it("a CANCEL reset once the deadline passed is DeadlineExceeded (the server's timer beat ours), sent", () => {
    const err = errorOfEndedStream(resetStream(constants.NGHTTP2_CANCEL), liveConnection, undefined, {
      at: performance.now() - 1,
    });
    expect(err.code).toBe(Code.DeadlineExceeded);
    expect(wasNotSent(err)).toBe(false);
  });

  it("without a deadline, the reset decides", () => {
    const err = errorOfEndedStream(
      resetStream(constants.NGHTTP2_REFUSED_STREAM),
      liveConnection,
      undefined,
      undefined,
    );
    expect(err.code).toBe(Code.Unavailable);
    expect(wasNotSent(err)).toBe(true);
  });
});
