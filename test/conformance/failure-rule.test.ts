// The client's one failure rule (src/client/core/failure.ts) on each transport's own error shapes.
import { Code, ConnectError } from "@connectrpc/connect";
import { status as GrpcStatus, Metadata } from "@grpc/grpc-js";
import { describe, expect, it } from "vitest";
import {
  AuthFailedError,
  DeadlineExceededError,
  PermissionDeniedError,
  toEtcdError,
  UnavailableError,
} from "../../src/client/core/errors.js";
import { classifyFailure, type FailureKind, markNotSent } from "../../src/client/core/failure.js";
import { H2NetProtocolError } from "../../src/client/transport/h2-net/index.js";
import {
  closedError,
  deadlineError,
  errorOfBrokenStream,
  openError,
} from "../../src/client/transport/http2/call-outcome.js";
import { errorFromResetCode, unavailableError } from "../../src/client/transport/http2/errors.js";
import { connectErrorFromStatus } from "../../src/grpc-js/status-error.js";

/** A Node socket error as `net` raises it. */
const sys = (code: string, syscall: string, message = `${syscall} ${code} 127.0.0.1:2379`) =>
  Object.assign(new Error(message), { code, syscall, errno: -1 });
/** A Node error with a string code only (HTTP/2, TLS). */
const nodeError = (code: string, message = code) => Object.assign(new Error(message), { code });
const connect = (code: Code, cause?: unknown, message = "x") =>
  new ConnectError(message, code, undefined, undefined, cause);
const grpc = (code: GrpcStatus, details: string) =>
  connectErrorFromStatus({ code, details, metadata: new Metadata() });
const kind = (error: unknown): [FailureKind, boolean] => {
  const f = classifyFailure(error);
  return [f.kind, f.sent];
};

describe("classifyFailure: every transport's error shape", () => {
  it("etcd-ts' HTTP/2 transport", () => {
    expect(kind(unavailableError("connect ECONNREFUSED", sys("ECONNREFUSED", "connect"), true))).toEqual([
      "unreachable",
      false,
    ]);
    expect(kind(unavailableError("lost", sys("ECONNRESET", "read"), false))).toEqual(["unavailable", true]);
    expect(kind(errorFromResetCode(7))).toEqual(["unavailable", false]); // REFUSED_STREAM
    expect(kind(errorFromResetCode(8))[0]).toBe("cancelled"); // CANCEL
    expect(kind(errorFromResetCode(2))).toEqual(["unknown", true]); // INTERNAL_ERROR
    expect(kind(deadlineError(true))).toEqual(["deadline", false]);
    expect(kind(closedError(true))).toEqual(["unreachable", false]);
    expect(kind(closedError(false))).toEqual(["unavailable", true]);
    expect(kind(openError(new Error("session destroyed")))).toEqual(["unreachable", false]);
    const broken = errorOfBrokenStream(
      { rstCode: undefined, id: 1 } as never,
      { gone: true, failure: sys("ECONNRESET", "read"), origin: "http://127.0.0.1:2379" } as never,
      undefined,
    );
    expect(kind(broken)).toEqual(["unavailable", true]);
  });

  it("the h2-net transport (the same call layer over its own HTTP/2 sessions)", () => {
    // A connection it ended because the server broke the protocol: the calls on it may have been sent.
    const ended = errorOfBrokenStream(
      { rstCode: undefined, id: 3 } as never,
      {
        gone: true,
        failure: new H2NetProtocolError("PING_FLOOD", "too many PINGs"),
        origin: "http://127.0.0.1:2379",
      } as never,
      undefined,
    );
    expect(kind(ended)).toEqual(["unavailable", true]);
    // The same connection, a stream whose HEADERS never left: not sent.
    const unsent = errorOfBrokenStream(
      { rstCode: undefined, id: undefined } as never,
      {
        gone: true,
        failure: new H2NetProtocolError("PING_FLOOD", "x"),
        origin: "http://127.0.0.1:2379",
      } as never,
      undefined,
    );
    expect(kind(unsent)).toEqual(["unreachable", false]);
    // A stream above a GOAWAY's last stream id: refused, not sent, so writes may be retried.
    expect(kind(errorFromResetCode(7))).toEqual(["unavailable", false]);
  });

  it("grpc-js statuses", () => {
    expect(
      kind(grpc(GrpcStatus.UNAVAILABLE, "No connection established. Last error: connect ECONNREFUSED")),
    ).toEqual(["unreachable", false]);
    expect(kind(grpc(GrpcStatus.UNAVAILABLE, "Stream refused by server"))).toEqual(["unavailable", false]);
    expect(kind(grpc(GrpcStatus.UNAVAILABLE, "Connection dropped"))).toEqual(["unavailable", true]);
    expect(kind(grpc(GrpcStatus.DEADLINE_EXCEEDED, "Deadline exceeded"))).toEqual(["deadline", true]);
    expect(kind(grpc(GrpcStatus.PERMISSION_DENIED, "etcdserver: permission denied"))).toEqual([
      "refused",
      true,
    ]);
  });

  it("connect-node's raw errors (before its transport aligns them)", () => {
    // A reset connection: Aborted with the socket error; a TLS alert: Internal.
    expect(kind(connect(Code.Aborted, sys("ECONNRESET", "read")))).toEqual(["unavailable", true]);
    expect(kind(connect(Code.Internal, nodeError("ERR_SSL_SSLV3_ALERT_BAD_CERTIFICATE")))).toEqual([
      "unavailable",
      true,
    ]);
    // The session manager's never-got-a-stream mark on a refused connection.
    expect(kind(markNotSent(connect(Code.Unknown, sys("ECONNREFUSED", "connect"))))).toEqual([
      "unreachable",
      false,
    ]);
  });

  it("the client's EtcdErrors, by their code and cause chain", () => {
    expect(kind(new UnavailableError("lost", { code: Code.Unavailable }))).toEqual(["unavailable", true]);
    expect(kind(new DeadlineExceededError("late", { code: Code.DeadlineExceeded }))).toEqual([
      "deadline",
      true,
    ]);
    expect(kind(new PermissionDeniedError("no", { code: Code.PermissionDenied }))).toEqual(["refused", true]);
    expect(kind(new AuthFailedError("bad password", { code: Code.InvalidArgument }))).toEqual([
      "refused",
      true,
    ]);
    const typed = toEtcdError(markNotSent(connect(Code.Unavailable, sys("ECONNREFUSED", "connect"))));
    expect(kind(typed)).toEqual(["unreachable", false]);
  });
});
