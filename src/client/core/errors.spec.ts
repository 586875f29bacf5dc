import { Code, ConnectError } from "@connectrpc/connect";
import { describe, expect, it } from "vitest";
import {
  AbortedError,
  AuthFailedError,
  AuthRequiredError,
  CompactedError,
  DeadlineExceededError,
  EtcdError,
  FutureRevisionError,
  InvalidAuthTokenError,
  KeyNotFoundError,
  LeaseNotFoundError,
  NoLeaderError,
  nameRefusedCall,
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
  ["etcdserver: user name is empty", Code.InvalidArgument, AuthRequiredError],
  ["etcdserver: authentication failed, invalid user ID or password", Code.InvalidArgument, AuthFailedError],
  ["etcdserver: invalid auth token", Code.Unauthenticated, InvalidAuthTokenError],
  ["etcdserver: no leader", Code.Unavailable, NoLeaderError],
  ["etcdserver: key not found", Code.InvalidArgument, KeyNotFoundError],
  ["etcdserver: leader changed", Code.Unavailable, UnavailableError],
  ["whatever", Code.DeadlineExceeded, DeadlineExceededError],
  ["whatever", Code.Canceled, AbortedError],
];

describe("toEtcdError", () => {
  it("types etcd 3.4/3.5's bare auth errors (code UNKNOWN) with the code etcd gives them elsewhere", () => {
    const denied = toEtcdError(new ConnectError("auth: permission denied", Code.Unknown));
    expect(denied).toBeInstanceOf(PermissionDeniedError);
    expect(denied.code).toBe(Code.PermissionDenied);
    const anonymous = toEtcdError(new ConnectError("auth: user name is empty", Code.Unknown));
    expect(anonymous).toBeInstanceOf(AuthRequiredError);
    expect(anonymous.code).toBe(Code.InvalidArgument);
  });

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

describe("nameRefusedCall", () => {
  const endpoint = "http://127.0.0.1:2379";

  it("names the RPC of a permission refusal; an admin service's says it needs the root role", () => {
    const raw = toEtcdError(
      new ConnectError("etcdserver: permission denied", Code.PermissionDenied),
      endpoint,
    );
    const admin = nameRefusedCall(raw, "Maintenance/Alarm");
    expect(admin).toBeInstanceOf(PermissionDeniedError);
    expect(admin).toMatchObject({
      rpc: "Maintenance/Alarm",
      code: Code.PermissionDenied,
      serverMessage: "etcdserver: permission denied",
      endpoint,
      message: `etcdserver: permission denied (Maintenance/Alarm needs the root role) [${endpoint}]`,
    });
    expect(admin.cause).toBe(raw.cause);
    expect(nameRefusedCall(raw, "KV/Put").message).toBe(
      `etcdserver: permission denied (KV/Put) [${endpoint}]`,
    );
  });

  it("says a call without a token needs an authenticated user, keeping the class", () => {
    const raw = toEtcdError(new ConnectError("etcdserver: user name is empty", Code.InvalidArgument));
    const named = nameRefusedCall(raw, "Cluster/MemberList");
    expect(named).toBeInstanceOf(AuthRequiredError);
    expect(named.message).toBe(
      "etcdserver: user name is empty (Cluster/MemberList needs an authenticated user; the client sent no token)",
    );
  });

  it("leaves other errors, an already named refusal and a call without an RPC alone", () => {
    const other = toEtcdError(new ConnectError("etcdserver: no leader", Code.Unavailable));
    expect(nameRefusedCall(other, "KV/Range")).toBe(other);
    const named = nameRefusedCall(new PermissionDeniedError("etcdserver: permission denied"), "KV/Put");
    expect(nameRefusedCall(named, "KV/Range")).toBe(named);
    const plain = new PermissionDeniedError("etcdserver: permission denied");
    expect(nameRefusedCall(plain, undefined)).toBe(plain);
  });
});
