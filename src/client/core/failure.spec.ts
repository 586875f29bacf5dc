import { Code, ConnectError } from "@connectrpc/connect";
import { describe, expect, it } from "vitest";
import { DeadlineExceededError, GetTokenError, toEtcdError, UnavailableError } from "./errors.js";
import { classifyFailure, type FailureKind, isUnavailable, markNotSent, wasNotSent } from "./failure.js";

/** A Node socket error as `net` raises it. */
const sys = (code: string, syscall: string, message = `${syscall} ${code} 127.0.0.1:2379`) =>
  Object.assign(new Error(message), { code, syscall, errno: -1 });
/** A Node error with a string code only (HTTP/2, TLS). */
const nodeError = (code: string, message = code) => Object.assign(new Error(message), { code });
const connect = (code: Code, cause?: unknown, message = "x") =>
  new ConnectError(message, code, undefined, undefined, cause);
const kind = (error: unknown): [FailureKind, boolean] => {
  const f = classifyFailure(error);
  return [f.kind, f.sent];
};

describe("classifyFailure: every category", () => {
  it("unreachable: no connection could be made, nothing sent", () => {
    for (const [code, syscall] of [
      ["ECONNREFUSED", "connect"],
      ["EHOSTUNREACH", "connect"],
      ["ENETUNREACH", "connect"],
      ["ETIMEDOUT", "connect"],
      ["ENOTFOUND", "getaddrinfo"],
      ["EAI_AGAIN", "getaddrinfo"],
    ] as const) {
      expect(kind(connect(Code.Unavailable, sys(code, syscall))), code).toEqual(["unreachable", false]);
      // Whatever code the transport put on it.
      expect(kind(connect(Code.Internal, sys(code, syscall))), code).toEqual(["unreachable", false]);
    }
    expect(classifyFailure(connect(Code.Internal, sys("ECONNREFUSED", "connect"))).code).toBe(
      Code.Unavailable,
    );
    // grpc-js words it in its details only.
    expect(kind(new Error("x", { cause: new Error("connect EHOSTUNREACH 10.0.0.1:2379") }))).toEqual([
      "unreachable",
      false,
    ]);
    // A never-sent UNAVAILABLE that is not a refused stream: connect timeout, handshake, closed transport.
    expect(kind(markNotSent(connect(Code.Unavailable)))).toEqual(["unreachable", false]);
  });

  it("unavailable: the connection broke under the call, or the server said UNAVAILABLE", () => {
    for (const cause of [
      sys("ECONNRESET", "read"),
      sys("EPIPE", "write"),
      nodeError("ERR_HTTP2_SESSION_ERROR"),
      nodeError("ERR_HTTP2_STREAM_ERROR"),
      nodeError("ERR_HTTP2_GOAWAY_SESSION"),
      nodeError("ERR_SSL_TLSV13_ALERT_CERTIFICATE_REQUIRED"),
    ]) {
      for (const code of [Code.Unavailable, Code.Aborted, Code.Internal, Code.Unknown])
        expect(kind(connect(code, cause)), `${cause.code} ${Code[code]}`).toEqual(["unavailable", true]);
    }
    expect(kind(connect(Code.Unavailable, undefined, "etcdserver: no leader"))).toEqual([
      "unavailable",
      true,
    ]);
    // A refused stream was not processed, but the server is up: unavailable, not sent.
    expect(
      kind(markNotSent(connect(Code.Unavailable, undefined, "stream refused (REFUSED_STREAM)"))),
    ).toEqual(["unavailable", false]);
  });

  it("a status the server sent is never a broken connection", () => {
    const wire = new ConnectError("etcdserver: permission denied", Code.PermissionDenied);
    Object.defineProperty(wire, "isWireError", { value: true });
    (wire as { cause?: unknown }).cause = sys("ECONNRESET", "read");
    expect(kind(wire)).toEqual(["refused", true]);
  });

  it("deadline: sent or not, also when the socket went as it passed", () => {
    expect(kind(connect(Code.DeadlineExceeded))).toEqual(["deadline", true]);
    expect(kind(markNotSent(connect(Code.DeadlineExceeded)))).toEqual(["deadline", false]);
    expect(kind(connect(Code.DeadlineExceeded, sys("ECONNRESET", "read")))).toEqual(["deadline", true]);
  });

  it("cancelled: the caller aborted, whatever lies under it", () => {
    expect(kind(connect(Code.Canceled, sys("ECONNRESET", "read")))).toEqual(["cancelled", true]);
    expect(kind(connect(Code.Canceled, sys("ECONNREFUSED", "connect")))[0]).toBe("cancelled");
    expect(kind(new DOMException("aborted", "AbortError"))[0]).toBe("cancelled");
  });

  it("auth: UNAUTHENTICATED, also a getToken that failed on its own connection", () => {
    expect(kind(connect(Code.Unauthenticated, undefined, "etcdserver: invalid auth token"))).toEqual([
      "auth",
      true,
    ]);
    const getToken = markNotSent(
      new GetTokenError("auth.getToken failed", {
        code: Code.Unauthenticated,
        cause: sys("ECONNREFUSED", "connect"),
      }),
    );
    expect(kind(getToken)).toEqual(["auth", false]);
  });

  it("refused: any other status, from the server or refused locally before sending", () => {
    for (const code of [Code.InvalidArgument, Code.NotFound, Code.PermissionDenied, Code.ResourceExhausted])
      expect(kind(connect(code))).toEqual(["refused", true]);
    expect(kind(markNotSent(connect(Code.ResourceExhausted, undefined, "exceeds the send limit")))).toEqual([
      "refused",
      false,
    ]);
  });

  it("unknown: UNKNOWN or INTERNAL without a sign of the connection", () => {
    expect(kind(connect(Code.Unknown))).toEqual(["unknown", true]);
    expect(kind(connect(Code.Internal))).toEqual(["unknown", true]);
    expect(kind(new Error("plain"))).toEqual(["unknown", true]);
  });
});

describe("the failure rule in error typing", () => {
  it("types a refused or lost connection UNAVAILABLE whatever the transport's code, a deadline as a deadline", () => {
    expect(toEtcdError(connect(Code.Aborted, sys("ECONNRESET", "read")))).toBeInstanceOf(UnavailableError);
    expect(toEtcdError(connect(Code.Internal, nodeError("ERR_SSL_SSLV3_ALERT_BAD_CERTIFICATE"))).code).toBe(
      Code.Unavailable,
    );
    expect(toEtcdError(connect(Code.DeadlineExceeded, sys("ECONNRESET", "read")))).toBeInstanceOf(
      DeadlineExceededError,
    );
    expect(toEtcdError(connect(Code.Canceled, sys("ECONNRESET", "read"))).code).toBe(Code.Canceled);
    expect(isUnavailable(connect(Code.Internal))).toBe(false);
  });

  it("keeps the not-sent mark through typing", () => {
    const typed = toEtcdError(markNotSent(connect(Code.Unavailable)), "http://127.0.0.1:2379");
    expect(wasNotSent(typed)).toBe(true);
  });
});
