import { Code } from "@connectrpc/connect";
import { describe, expect, it } from "vitest";
import { codeFromHttpStatus, decodeGrpcMessage, readGrpcStatus } from "./trailers.js";

describe("readGrpcStatus", () => {
  it("reads code and percent-decoded message", () => {
    expect(
      readGrpcStatus({ "grpc-status": "5", "grpc-message": "etcdserver: requested lease not found" }),
    ).toEqual({
      code: Code.NotFound,
      message: "etcdserver: requested lease not found",
    });
    expect(readGrpcStatus({ "grpc-status": "3", "grpc-message": "bad%20key%3A%20%E2%9C%93" })).toEqual({
      code: Code.InvalidArgument,
      message: "bad key: ✓",
    });
  });

  it("returns OK as code 0 with an empty message", () => {
    expect(readGrpcStatus({ "grpc-status": "0" })).toEqual({ code: 0, message: "" });
  });

  it("returns undefined without grpc-status, and Unknown for a status that is not a code", () => {
    expect(readGrpcStatus({ ":status": 200 } as never)).toBeUndefined();
    expect(readGrpcStatus({ "grpc-status": "17" })?.code).toBe(Code.Unknown);
    expect(readGrpcStatus({ "grpc-status": "x" })?.code).toBe(Code.Unknown);
    expect(readGrpcStatus({ "grpc-status": "" })?.code).toBe(Code.Unknown);
  });
});

describe("decodeGrpcMessage", () => {
  it("keeps plain text and malformed escapes as they are", () => {
    expect(decodeGrpcMessage("etcdserver: too many requests")).toBe("etcdserver: too many requests");
    expect(decodeGrpcMessage("100% done")).toBe("100% done");
    expect(decodeGrpcMessage("a%2")).toBe("a%2");
    expect(decodeGrpcMessage("bad %FF then %20ok")).toBe("bad %FF then  ok");
  });
});

describe("codeFromHttpStatus", () => {
  it("follows gRPC's http-grpc-status-mapping", () => {
    expect(codeFromHttpStatus(400)).toBe(Code.Internal);
    expect(codeFromHttpStatus(401)).toBe(Code.Unauthenticated);
    expect(codeFromHttpStatus(403)).toBe(Code.PermissionDenied);
    expect(codeFromHttpStatus(404)).toBe(Code.Unimplemented);
    for (const s of [429, 502, 503, 504]) expect(codeFromHttpStatus(s)).toBe(Code.Unavailable);
    expect(codeFromHttpStatus(200)).toBe(Code.Unknown);
    expect(codeFromHttpStatus(500)).toBe(Code.Unknown);
  });
});
