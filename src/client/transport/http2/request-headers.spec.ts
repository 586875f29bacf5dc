import { describe, expect, it } from "vitest";
import { KV } from "../../../gen/etcdserverpb/rpc_pb.js";
import { buildRequestHeaders, RequestHeaderCache } from "./request-headers.js";

describe("buildRequestHeaders", () => {
  it("carries the gRPC headers, the deadline and user metadata, never overriding the protocol's", () => {
    const headers = buildRequestHeaders(KV.method.range, "ua/1", 1500, { hasleader: "true", te: "x" });
    expect(headers).toEqual({
      ":method": "POST",
      ":path": "/etcdserverpb.KV/Range",
      "content-type": "application/grpc+proto",
      te: "trailers",
      "user-agent": "ua/1",
      "grpc-timeout": "1500m",
      hasleader: "true",
    });
  });
});

describe("RequestHeaderCache", () => {
  it("reuses the headers while method, deadline and frozen metadata are the same", () => {
    const cache = new RequestHeaderCache("ua/1");
    const meta = Object.freeze({ hasleader: "true" });
    const first = cache.get(KV.method.range, 10_000, meta);
    expect(cache.get(KV.method.range, 10_000, meta)).toBe(first);
    expect(cache.get(KV.method.range, undefined, undefined)).toBe(
      cache.get(KV.method.range, undefined, undefined),
    );
  });

  it("builds anew when the deadline, the metadata object or the method changes", () => {
    const cache = new RequestHeaderCache("ua/1");
    const meta = Object.freeze({ hasleader: "true" });
    const first = cache.get(KV.method.range, 10_000, meta);
    const later = cache.get(KV.method.range, 9_000, meta);
    expect(later).not.toBe(first);
    expect(later["grpc-timeout"]).toBe("9000m");
    const withToken = cache.get(KV.method.range, 9_000, Object.freeze({ hasleader: "true", token: "t1" }));
    expect(withToken.token).toBe("t1");
    expect(cache.get(KV.method.put, 9_000, meta)[":path"]).toBe("/etcdserverpb.KV/Put");
  });

  it("reads mutable metadata afresh on every call", () => {
    const cache = new RequestHeaderCache("ua/1");
    const meta: Record<string, string> = { token: "a" };
    expect(cache.get(KV.method.range, 100, meta).token).toBe("a");
    meta.token = "b";
    expect(cache.get(KV.method.range, 100, meta).token).toBe("b");
    const headers = new Headers({ token: "c" });
    expect(cache.get(KV.method.range, 100, headers).token).toBe("c");
    headers.set("token", "d");
    expect(cache.get(KV.method.range, 100, headers).token).toBe("d");
  });
});
