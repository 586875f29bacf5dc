import { describe, expect, it } from "vitest";
import { parseGatewayError } from "./gateway.js";

describe("parseGatewayError", () => {
  it("reads grpc-gateway v1's { error, code, message } (etcd 3.4, 3.5)", () => {
    const body = {
      error: "etcdserver: user name is empty",
      code: 3,
      message: "etcdserver: user name is empty",
    };
    expect(parseGatewayError(body)).toEqual({ code: 3, message: "etcdserver: user name is empty" });
  });

  it("reads grpc-gateway v2's { code, message, details } (etcd 3.6+, no error field)", () => {
    const body = { code: 7, message: "etcdserver: permission denied", details: [] };
    expect(parseGatewayError(body)).toEqual({ code: 7, message: "etcdserver: permission denied" });
  });

  it("falls back to error when message is missing or empty", () => {
    expect(
      parseGatewayError({ error: "grpc: the client connection is closing", code: 1, message: "" }),
    ).toEqual({
      code: 1,
      message: "grpc: the client connection is closing",
    });
  });

  it("gives neither field for what is not a gateway error", () => {
    for (const body of [undefined, null, "404 page not found", [], { code: "3", message: 42 }])
      expect(parseGatewayError(body)).toEqual({ code: undefined, message: undefined });
  });
});
