import { Code, ConnectError } from "@connectrpc/connect";
import { describe, expect, it } from "vitest";
import { markNotSent } from "../client/core/failure.js";
import { callOutcome, InstanceHealth, outlierDetectionSettings } from "./outlier-detection.js";

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
