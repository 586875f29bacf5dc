import { Code, ConnectError } from "@connectrpc/connect";
import { describe, expect, it } from "vitest";
import { InvalidArgumentError } from "../client/core/errors.js";
import { markNotSent } from "../client/core/failure.js";
import { callOutcome, callVerdict, InstanceHealth, outlierDetectionSettings } from "./outlier-detection.js";

const health = (o = {}) => new InstanceHealth(outlierDetectionSettings(o));

describe("callOutcome", () => {
  it("tells refusals, UNAVAILABLE, answers and the rest apart", () => {
    expect(callOutcome(undefined)).toBe("answered");
    expect(callOutcome(markNotSent(new ConnectError("x", Code.Unavailable)))).toBe("refused");
    const refused = Object.assign(new Error("connect ECONNREFUSED 127.0.0.1:1"), {
      code: "ECONNREFUSED",
      syscall: "connect",
    });
    expect(callOutcome(new ConnectError("x", Code.Unavailable, undefined, undefined, refused))).toBe(
      "refused",
    );
    expect(callOutcome(new ConnectError("x", Code.Unavailable))).toBe("unavailable");
    for (const code of [
      Code.InvalidArgument,
      Code.NotFound,
      Code.PermissionDenied,
      Code.FailedPrecondition,
    ]) {
      expect(callOutcome(new ConnectError("x", code))).toBe("answered");
    }
    for (const code of [Code.Canceled, Code.DeadlineExceeded, Code.Unknown, Code.Internal]) {
      expect(callOutcome(new ConnectError("x", code))).toBe("neutral");
    }
    // Never-sent but local: a deadline that passed in a queue, a message too large.
    expect(callOutcome(markNotSent(new ConnectError("x", Code.DeadlineExceeded)))).toBe("neutral");
    expect(callOutcome(markNotSent(new ConnectError("x", Code.Internal)))).toBe("neutral");
    expect(callOutcome(markNotSent(new ConnectError("x", Code.InvalidArgument)))).toBe("neutral");
    // A stream a live server refused (GOAWAY race): retry-safe, but not a dead instance.
    const refusedStream = markNotSent(
      new ConnectError("stream refused by the server (REFUSED_STREAM)", Code.Unavailable),
    );
    expect(callOutcome(refusedStream)).toBe("unavailable");
    // A call the caller aborted says nothing, whatever it failed with.
    expect(callOutcome(new ConnectError("x", Code.Unavailable), true)).toBe("neutral");
  });
});

describe("InstanceHealth", () => {
  it("ejects at the first refusal by default, for baseEjectionMs", () => {
    const h = health();
    expect(h.record("refused", 1000)).toBe(true);
    expect(h.isEjected(1000)).toBe(true);
    expect(h.isEjected(10_999)).toBe(true);
    expect(h.isEjected(11_000)).toBe(false);
  });

  it("needs consecutiveFailures UNAVAILABLE in a row; an answer resets the count", () => {
    const h = health({ consecutiveFailures: 3 });
    expect(h.record("unavailable", 0)).toBe(false);
    expect(h.record("unavailable", 1)).toBe(false);
    expect(h.record("answered", 2)).toBe(false);
    expect(h.record("unavailable", 3)).toBe(false);
    expect(h.record("unavailable", 4)).toBe(false);
    // Neutral outcomes neither count nor reset.
    expect(h.record("neutral", 5)).toBe(false);
    expect(h.record("unavailable", 6)).toBe(true);
    expect(h.isEjected(7)).toBe(true);
  });

  it("counts refusals separately: an UNAVAILABLE in between breaks a refusal streak", () => {
    const h = health({ consecutiveFailures: 10, consecutiveRefusals: 2 });
    expect(h.record("refused", 0)).toBe(false);
    expect(h.record("unavailable", 1)).toBe(false);
    expect(h.record("refused", 2)).toBe(false);
    expect(h.record("refused", 3)).toBe(true);
  });

  it("grows the ejection time per repeated ejection up to the cap; one answer clears it", () => {
    const h = health({ baseEjectionMs: 100, maxEjectionMs: 250 });
    let now = 0;
    const ejectFor = () => {
      expect(h.record("refused", now)).toBe(true);
      const ms = h.ejectedUntil - now;
      now = h.ejectedUntil; // back on probation
      return ms;
    };
    expect([ejectFor(), ejectFor(), ejectFor(), ejectFor()]).toEqual([100, 200, 250, 250]);
    expect(h.ejections).toBe(4);
    h.record("answered", now);
    expect(h.ejections).toBe(0);
    expect(ejectFor()).toBe(100);
  });

  it("on probation, a single UNAVAILABLE ejects again", () => {
    const h = health({ consecutiveFailures: 3, baseEjectionMs: 100 });
    for (let i = 0; i < 3; i++) h.record("unavailable", 0);
    expect(h.isEjected(0)).toBe(true);
    expect(h.record("unavailable", 100)).toBe(true);
    expect(h.ejectedUntil).toBe(300);
  });

  it("ignores outcomes while ejected: late failures do not lengthen it, late answers do not end it", () => {
    const h = health({ baseEjectionMs: 100 });
    h.record("refused", 0);
    expect(h.record("refused", 50)).toBe(false);
    expect(h.record("answered", 60)).toBe(false);
    expect(h.ejectedUntil).toBe(100);
    expect(h.ejections).toBe(1);
    expect(h.isEjected(99)).toBe(true);
  });
});

describe("callVerdict", () => {
  it("counts connection failures, UNAVAILABLE, INTERNAL, UNKNOWN and sent deadlines as failures", () => {
    expect(callVerdict(undefined)).toBe(false);
    for (const code of [Code.Unavailable, Code.Internal, Code.Unknown, Code.DeadlineExceeded]) {
      expect(callVerdict(new ConnectError("x", code))).toBe(true);
    }
    expect(callVerdict(markNotSent(new ConnectError("x", Code.Unavailable)))).toBe(true);
    // Application errors are answers.
    for (const code of [Code.NotFound, Code.InvalidArgument, Code.FailedPrecondition]) {
      expect(callVerdict(new ConnectError("x", code))).toBe(false);
    }
    // Nothing about the instance: the caller's cancel, a token, local errors that kept the call home.
    expect(callVerdict(new ConnectError("x", Code.Canceled))).toBeUndefined();
    expect(callVerdict(new ConnectError("x", Code.Unauthenticated))).toBeUndefined();
    expect(callVerdict(markNotSent(new ConnectError("x", Code.DeadlineExceeded)))).toBeUndefined();
    expect(callVerdict(markNotSent(new ConnectError("x", Code.Internal)))).toBeUndefined();
    expect(callVerdict(markNotSent(new ConnectError("x", Code.InvalidArgument)))).toBeUndefined();
    expect(callVerdict(new ConnectError("x", Code.Unavailable), true)).toBeUndefined();
  });
});

describe("InstanceHealth: success-rate ejection", () => {
  it("ejects once half of the last failureRateWindow calls failed, for baseEjectionMs", () => {
    const h = health({ failureRateWindow: 10, baseEjectionMs: 100 });
    // Failing every other call: never 3 UNAVAILABLE in a row, so only the rate can eject.
    let ejectedAt = -1;
    for (let i = 0; i < 10 && ejectedAt < 0; i++) {
      const failed = i % 2 === 1;
      if (h.record(failed ? "unavailable" : "answered", i, failed)) ejectedAt = i;
    }
    expect(ejectedAt).toBe(9); // the window is judged once full: 5 of 10
    expect(h.isEjected(108)).toBe(true);
    expect(h.isEjected(109)).toBe(false);
  });

  it("counts INTERNAL (neutral for the consecutive rule) and never application errors", () => {
    const h = health({ failureRateWindow: 4, failureRate: 0.75 });
    expect(h.record("neutral", 0, true)).toBe(false);
    expect(h.record("answered", 1, false)).toBe(false);
    expect(h.record("neutral", 2, true)).toBe(false);
    expect(h.record("neutral", 3, true)).toBe(true);
    const app = health({ failureRateWindow: 4 });
    for (let i = 0; i < 20; i++) expect(app.record("answered", i, false)).toBe(false);
  });

  it("judges a sliding window: an old burst of failures leaves it as answers come", () => {
    const h = health({ failureRateWindow: 4, failureRate: 0.5 });
    expect(h.record("neutral", 0, true)).toBe(false);
    for (let i = 1; i < 4; i++) expect(h.record("answered", i, false)).toBe(false);
    // [f, a, a, a] → [a, a, a, f]: 1 of 4 each time.
    expect(h.record("neutral", 4, true)).toBe(false);
    expect(h.record("answered", 5, false)).toBe(false);
    expect(h.record("neutral", 6, true)).toBe(true); // [a, f, a, f]
  });

  it("starts afresh after an ejection; comes back and stays once it answers", () => {
    const h = health({ failureRateWindow: 2, failureRate: 1, baseEjectionMs: 100 });
    h.record("neutral", 0, true);
    expect(h.record("neutral", 1, true)).toBe(true);
    // Outcomes while ejected are ignored, the window included.
    expect(h.record("neutral", 50, true)).toBe(false);
    expect(h.record("neutral", 101, true)).toBe(false); // 1 of a fresh window
    expect(h.record("answered", 102, false)).toBe(false);
    for (let t = 103; t < 120; t++) expect(h.record("answered", t, false)).toBe(false);
    expect(h.ejections).toBe(0);
  });

  it("is off with failureRateWindow 0; bad settings are InvalidArgumentError", () => {
    const h = health({ failureRateWindow: 0 });
    for (let i = 0; i < 50; i++) expect(h.record("neutral", i, true)).toBe(false);
    for (const bad of [0, -0.1, 1.5, Number.NaN, "0.5"]) {
      expect(() => outlierDetectionSettings({ failureRate: bad as number })).toThrow(InvalidArgumentError);
    }
    for (const bad of [-1, 2.5, "20"]) {
      expect(() => outlierDetectionSettings({ failureRateWindow: bad as number })).toThrow(
        InvalidArgumentError,
      );
    }
    expect(outlierDetectionSettings()).toMatchObject({ failureRate: 0.5, failureRateWindow: 20 });
  });
});
