import { Code, ConnectError } from "@connectrpc/connect";
import { describe, expect, it } from "vitest";
import {
  AbortedError,
  AuthFailedError,
  CompactedError,
  DeadlineExceededError,
  EtcdError,
  FutureRevisionError,
  InvalidAuthTokenError,
  KeyNotFoundError,
  LeaseNotFoundError,
  NoLeaderError,
  PermissionDeniedError,
  RequestTooLargeError,
  toEtcdError,
  UnavailableError,
} from "./errors.js";

const cases: [string, Code, new (...a: never[]) => EtcdError][] = [
  ["etcdserver: requested lease not found", Code.NotFound, LeaseNotFoundError],
  ["mvcc: required revision has been compacted", Code.OutOfRange, CompactedError],
  ["mvcc: required revision is a future revision", Code.OutOfRange, FutureRevisionError],
  ["etcdserver: permission denied", Code.PermissionDenied, PermissionDeniedError],
  ["etcdserver: authentication failed, invalid user ID or password", Code.InvalidArgument, AuthFailedError],
  ["etcdserver: invalid auth token", Code.Unauthenticated, InvalidAuthTokenError],
  ["etcdserver: no leader", Code.Unavailable, NoLeaderError],
  ["etcdserver: key not found", Code.InvalidArgument, KeyNotFoundError],
  ["etcdserver: leader changed", Code.Unavailable, UnavailableError],
  ["whatever", Code.DeadlineExceeded, DeadlineExceededError],
  ["whatever", Code.Canceled, AbortedError],
];

describe("toEtcdError", () => {
  it("gives RequestTooLargeError one code (RESOURCE_EXHAUSTED) whoever refused", () => {
    const byEtcd = toEtcdError(new ConnectError("etcdserver: request is too large", Code.InvalidArgument));
    const byTransport = toEtcdError(
      new ConnectError("message of 3 bytes exceeds the send limit", Code.ResourceExhausted),
    );
    const byClient = new RequestTooLargeError("value: too large", { field: "value" });
    for (const e of [byEtcd, byTransport, byClient]) {
      expect(e).toBeInstanceOf(RequestTooLargeError);
      expect(e.code).toBe(Code.ResourceExhausted);
    }
  });

  it("types the server's side of a deadline (code UNKNOWN, 'context deadline exceeded') as DeadlineExceededError", () => {
    const err = toEtcdError(new ConnectError("context deadline exceeded", Code.Unknown));
    expect(err).toBeInstanceOf(DeadlineExceededError);
    expect(err.code).toBe(Code.DeadlineExceeded);
  });

  it.each(cases)("maps %s (%i)", (message, code, cls) => {
    const original = new ConnectError(message, code);
    const err = toEtcdError(original, "http://127.0.0.1:2379");
    expect(err).toBeInstanceOf(cls);
    expect(err).toBeInstanceOf(EtcdError);
    expect(err.code).toBe(code);
    expect(err.serverMessage).toBe(message);
    expect(err.endpoint).toBe("http://127.0.0.1:2379");
    expect(err.cause).toBe(original);
    expect(err.message).toContain(message);
  });
  it("keeps unknown errors as a plain EtcdError with the status", () => {
    const err = toEtcdError(new ConnectError("etcdserver: too many requests", Code.ResourceExhausted));
    expect(err.constructor).toBe(EtcdError);
    expect(err.code).toBe(Code.ResourceExhausted);
  });
  it("passes EtcdErrors through", () => {
    const e = new EtcdError("x");
    expect(toEtcdError(e)).toBe(e);
  });
  it("reports a connection lost under the call as UNAVAILABLE, whatever code the transport used", () => {
    const reset = Object.assign(new Error("read ECONNRESET"), { code: "ECONNRESET" });
    const err = toEtcdError(new ConnectError("read ECONNRESET", Code.Aborted, undefined, undefined, reset));
    expect(err).toBeInstanceOf(UnavailableError);
    expect(err.code).toBe(Code.Unavailable);
    // A status the server sent is kept as sent.
    const wire = ConnectError.from(new ConnectError("aborted by server", Code.Aborted));
    expect(toEtcdError(wire).code).toBe(Code.Aborted);
  });
  it("NoLeaderError is an UnavailableError", () => {
    expect(toEtcdError(new ConnectError("etcdserver: no leader", Code.Unavailable))).toBeInstanceOf(
      UnavailableError,
    );
  });
});
