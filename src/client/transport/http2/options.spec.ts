import { describe, expect, it } from "vitest";
import { Http2TransportOptionsError } from "./errors.js";
import { resolveHttp2Options } from "./options.js";

describe("resolveHttp2Options", () => {
  it("fills in the documented defaults", () => {
    expect(resolveHttp2Options({ baseUrl: "http://127.0.0.1:2379" })).toEqual({
      origin: "http://127.0.0.1:2379",
      secure: false,
      tls: undefined,
      keepaliveIntervalMs: 30_000,
      keepaliveTimeoutMs: 10_000,
      keepaliveWhileIdle: false,
      maxConcurrentStreams: Number.POSITIVE_INFINITY,
      maxReceiveMessageBytes: 64 * 1024 * 1024,
      maxSendMessageBytes: 2 * 1024 * 1024,
      connectTimeoutMs: 5_000,
      defaultTimeoutMs: undefined,
      userAgent: "etcd-ts",
    });
  });

  it.each([
    [{ baseUrl: "127.0.0.1:2379" }, /http:\/\/ or https:\/\//],
    [{ baseUrl: "not a url" }, /http:\/\/ or https:\/\//],
    [{ baseUrl: "http://exa mple:1" }, /not a valid URL/],
    [{ baseUrl: "unix:///tmp/etcd.sock" }, /http:\/\/ or https:\/\//],
    [{ baseUrl: "http://127.0.0.1:2379/v3" }, /only scheme, host and port/],
    [{ baseUrl: "http://127.0.0.1:2379", tls: {} }, /tls: options need an https/],
    [
      { baseUrl: "http://127.0.0.1:2379", keepaliveTimeoutMs: 0 },
      /keepaliveTimeoutMs: must be an integer >= 1/,
    ],
    [{ baseUrl: "http://127.0.0.1:2379", maxConcurrentStreams: 1.5 }, /maxConcurrentStreams/],
    [{ baseUrl: "http://127.0.0.1:2379", connectTimeoutMs: -1 }, /connectTimeoutMs/],
  ])("rejects %j", (options, message) => {
    expect(() => resolveHttp2Options(options as never)).toThrow(Http2TransportOptionsError);
    expect(() => resolveHttp2Options(options as never)).toThrow(message);
  });

  it("accepts https with TLS options", () => {
    const resolved = resolveHttp2Options({
      baseUrl: "https://localhost:2379",
      tls: { rejectUnauthorized: false },
    });
    expect(resolved.secure).toBe(true);
    expect(resolved.origin).toBe("https://localhost:2379");
  });
});
