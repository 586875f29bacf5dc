import { Code, ConnectError } from "@connectrpc/connect";
import { describe, expect, it } from "vitest";
import { deadlineOf, unaskedCancel } from "./unasked-cancel.js";

describe("unaskedCancel", () => {
  const canceled = new ConnectError("[canceled] stream reset", Code.Canceled);

  it("before the deadline, a CANCEL reset nobody asked for is the server gone: Unavailable", () => {
    const err = unaskedCancel(canceled, 1000, 999);
    expect(err.code).toBe(Code.Unavailable);
    expect(err.cause).toBe(canceled);
  });

  it("once the deadline passed, it is DeadlineExceeded (etcd's grpc-timeout beat connect-node's timer)", () => {
    const err = unaskedCancel(canceled, 1000, 1000);
    expect(err.code).toBe(Code.DeadlineExceeded);
    expect(err.cause).toBe(canceled);
  });

  it("without a deadline, Unavailable", () => {
    expect(unaskedCancel(canceled, undefined, Number.MAX_SAFE_INTEGER).code).toBe(Code.Unavailable);
  });

  it("deadlineOf: none without a positive timeout", () => {
    expect(deadlineOf(undefined)).toBeUndefined();
    expect(deadlineOf(0)).toBeUndefined();
    expect(deadlineOf(50)).toBeGreaterThan(performance.now());
  });
});
