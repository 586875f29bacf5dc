import { Code, ConnectError } from "@connectrpc/connect";
import { describe, expect, it } from "vitest";
import { classifyFailure } from "../../core/failure.js";
import { fetchFailure, gatewayError, NotSupportedOverGatewayError, readRefusal } from "./errors.js";

describe("gateway errors", () => {
  it("reads both body shapes and both stream-error shapes", () => {
    const message = "etcdserver: requested lease not found";
    expect(readRefusal({ error: message, code: 5, message })).toEqual({ code: 5, message });
    expect(readRefusal({ code: 5, message, details: [] })).toEqual({ code: 5, message });
    expect(readRefusal({ error: { grpc_code: 14, http_code: 503, message, http_status: "x" } })).toEqual({
      code: 14,
      message,
    });
    expect(readRefusal({ error: { code: 14, message, details: [] } })).toEqual({ code: 14, message });
    expect(readRefusal("<html>")).toEqual({ code: undefined, message: undefined });
  });

  it("gives etcd's code and message as a gRPC transport would, the status's code without a body", () => {
    const v1 = gatewayError(
      404,
      '{"error":"etcdserver: requested lease not found","code":5,"message":"etcdserver: requested lease not found"}',
      "x",
    );
    expect(v1).toBeInstanceOf(ConnectError);
    expect((v1 as ConnectError).code).toBe(Code.NotFound);
    expect((v1 as ConnectError).rawMessage).toBe("etcdserver: requested lease not found");
    const v2 = gatewayError(401, '{"code":16,"message":"etcdserver: invalid auth token"}', "x");
    expect((v2 as ConnectError).code).toBe(Code.Unauthenticated);
    expect((gatewayError(503, "busy", "x") as ConnectError).code).toBe(Code.Unavailable);
    expect((gatewayError(418, "", "x") as ConnectError).code).toBe(Code.Unknown);
  });

  it("a 404 of the gateway's router (either line's) is NotSupportedOverGatewayError", () => {
    expect(gatewayError(404, "Not Found\n", "etcdserverpb.Auth/AuthStatus")).toBeInstanceOf(
      NotSupportedOverGatewayError,
    );
    const v2 = gatewayError(404, '{"code":5,"message":"Not Found"}', "etcdserverpb.Maintenance/HashKV");
    expect(v2).toBeInstanceOf(NotSupportedOverGatewayError);
    expect((v2 as NotSupportedOverGatewayError).code).toBe(Code.Unimplemented);
  });

  it("a fetch that rejected is a connection failure for the failure rule", () => {
    const refused = Object.assign(new Error("connect ECONNREFUSED 127.0.0.1:1"), {
      code: "ECONNREFUSED",
      syscall: "connect",
    });
    const nodeError = new TypeError("fetch failed", { cause: refused });
    expect(classifyFailure(fetchFailure(nodeError, "x", undefined))).toMatchObject({
      kind: "unreachable",
      sent: false,
    });
    // A browser says only "Failed to fetch": lost, maybe sent.
    expect(classifyFailure(fetchFailure(new TypeError("Failed to fetch"), "x", undefined))).toMatchObject({
      kind: "unavailable",
      sent: true,
    });
    expect(classifyFailure(fetchFailure(undefined, "x", "deadline")).kind).toBe("deadline");
    expect(classifyFailure(fetchFailure(undefined, "x", "caller")).kind).toBe("cancelled");
  });
});
