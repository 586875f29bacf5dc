import { describe, expect, it } from "vitest";
import { Http2TransportOptionsError } from "./errors.js";
import { resolveHttp2Options } from "./options.js";

describe("resolveHttp2Options", () => {
  it("fills in the documented defaults", () => {
    const resolved = resolveHttp2Options({ baseUrl: "http://127.0.0.1:2379" });
    expect(resolved).toEqual({
      origin: "http://127.0.0.1:2379",
      authority: "http://127.0.0.1:2379",
      address: { kind: "tcp", url: "http://127.0.0.1:2379", secure: false, parsed: expect.any(URL) },
      secure: false,
      tls: undefined,
      keepaliveIntervalMs: 30_000,
      keepaliveTimeoutMs: 10_000,
      keepaliveWithoutCalls: false,
      maxConcurrentStreams: Number.POSITIVE_INFINITY,
      maxReceiveMessageBytes: 64 * 1024 * 1024,
      maxSendMessageBytes: 2 * 1024 * 1024,
      connectTimeoutMs: 5_000,
      defaultTimeoutMs: undefined,
      userAgent: "etcd-ts",
    });
  });

  it.each([
    [{ baseUrl: "127.0.0.1:2379" }, /must start with http:\/\/, https:\/\/, unix:\/\/ or unixs:\/\//],
    [{ baseUrl: "not a url" }, /must start with http:\/\//],
    [{ baseUrl: "http://exa mple:1" }, /not a URL/],
    [{ baseUrl: "ftp://127.0.0.1:2379" }, /unsupported scheme/],
    [{ baseUrl: "unix://" }, /names no socket file/],
    [{ baseUrl: "unix:///tmp/etcd.sock", tls: {} }, /tls: options need an https:\/\/ or unixs:\/\//],
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

  it("accepts unix sockets: the socket for createConnection, localhost as the authority", () => {
    const plain = resolveHttp2Options({ baseUrl: "unix:///tmp/etcd.sock" });
    expect(plain).toMatchObject({
      origin: "unix:///tmp/etcd.sock",
      authority: "http://localhost",
      secure: false,
      address: { kind: "unix", socketPath: "/tmp/etcd.sock", servername: "etcd.sock" },
    });
    const secure = resolveHttp2Options({ baseUrl: "unixs://localhost:2379", tls: { ca: "CA" } });
    expect(secure).toMatchObject({
      origin: "unixs://localhost:2379",
      authority: "https://localhost",
      secure: true,
      address: { kind: "unix", socketPath: "localhost:2379", servername: "localhost" },
    });
  });

  it("takes keepaliveWithoutCalls, the name of every transport, and its old name keepaliveWhileIdle", () => {
    const base = { baseUrl: "http://127.0.0.1:2379" };
    expect(resolveHttp2Options({ ...base, keepaliveWithoutCalls: true }).keepaliveWithoutCalls).toBe(true);
    expect(resolveHttp2Options({ ...base, keepaliveWhileIdle: true }).keepaliveWithoutCalls).toBe(true);
    expect(() =>
      resolveHttp2Options({ ...base, keepaliveWithoutCalls: true, keepaliveWhileIdle: false }),
    ).toThrow(/keepaliveWhileIdle: is the old name of keepaliveWithoutCalls/);
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
