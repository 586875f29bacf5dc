import type { OutgoingHttpHeaders } from "node:http2";
import { describe, expect, it } from "vitest";
import {
  appendUserMetadata,
  decodeBinaryMetadata,
  encodeBinaryMetadata,
  headersFromHttp2,
} from "./metadata.js";

describe("binary metadata", () => {
  it("round-trips bytes through base64", () => {
    const bytes = new Uint8Array([0, 1, 2, 250, 255]);
    const encoded = encodeBinaryMetadata(bytes);
    expect(encoded).toBe("AAEC+v8=");
    expect([...decodeBinaryMetadata(encoded)]).toEqual([...bytes]);
  });

  it("accepts unpadded base64 and comma-joined values", () => {
    expect([...decodeBinaryMetadata("AAEC+v8")]).toEqual([0, 1, 2, 250, 255]);
    expect([...decodeBinaryMetadata("AQ==, Ag")]).toEqual([1, 2]);
  });

  it("rejects values that are not base64", () => {
    expect(() => decodeBinaryMetadata("not base64!")).toThrow(TypeError);
    expect(() => decodeBinaryMetadata("A")).toThrow(TypeError);
  });
});

describe("appendUserMetadata", () => {
  it("lowercases names, keeps repeats and never overrides protocol headers", () => {
    const target: OutgoingHttpHeaders = { "content-type": "application/grpc+proto", te: "trailers" };
    appendUserMetadata(target, [
      ["X-Token", "a"],
      ["x-token", "b"],
      ["Content-Type", "text/plain"],
      [":path", "/evil"],
      ["trace-bin", "AQ=="],
    ]);
    expect(target).toEqual({
      "content-type": "application/grpc+proto",
      te: "trailers",
      "x-token": ["a", "b"],
      "trace-bin": "AQ==",
    });
    const fromHeaders: OutgoingHttpHeaders = {};
    appendUserMetadata(fromHeaders, new Headers({ Authorization: "t" }));
    appendUserMetadata(fromHeaders, { "X-Other": "1" });
    expect(fromHeaders).toEqual({ authorization: "t", "x-other": "1" });
  });
});

describe("appendUserMetadata validation", () => {
  it("rejects names and values that cannot be sent", () => {
    expect(() => appendUserMetadata({}, { "x-bad": "a\nb" })).toThrow(TypeError);
    expect(() => appendUserMetadata({}, { "bad name": "a" })).toThrow(TypeError);
  });
});

describe("headersFromHttp2", () => {
  it("drops pseudo-headers and keeps repeated values", () => {
    const headers = headersFromHttp2({
      ":status": 200,
      "content-type": "application/grpc",
      "set-cookie": ["a", "b"],
    } as never);
    const names = new Set<string>();
    headers.forEach((_, name) => {
      names.add(name);
    });
    expect(names).toEqual(new Set(["content-type", "set-cookie"]));
    expect(headers.get("content-type")).toBe("application/grpc");
    expect(headers.get("set-cookie")).toBe("a, b");
  });
});
