import { describe, expect, it } from "vitest";
import { InvalidArgumentError } from "./errors.js";
import { DEFAULT_MAX_REQUEST_BYTES, resolveOptions } from "./options.js";

describe("resolveOptions", () => {
  it("fills in every default", () => {
    const o = resolveOptions({ endpoints: "http://127.0.0.1:2379/" });
    expect(o.endpoints).toEqual([{ url: "http://127.0.0.1:2379", secure: false, tls: undefined }]);
    expect(o).toMatchObject({
      timeoutMs: 10_000,
      maxAttempts: 5,
      backoff: { initialMs: 50, maxMs: 1_000 },
      endpointCooldownMs: 5_000,
      requireLeader: true,
      keepaliveIntervalMs: 10_000,
      keepaliveTimeoutMs: 5_000,
      connectTimeoutMs: 5_000,
      autoSyncIntervalMs: 0,
      maxRequestBytes: DEFAULT_MAX_REQUEST_BYTES,
    });
    expect(DEFAULT_MAX_REQUEST_BYTES).toBe(1_572_864);
  });
  it("passes TLS material to https endpoints", () => {
    const o = resolveOptions({ endpoints: ["https://a:2379", "https://b:2379"], tls: { ca: "CA" } });
    expect(o.endpoints.map((e) => [e.url, e.secure, e.tls?.ca])).toEqual([
      ["https://a:2379", true, "CA"],
      ["https://b:2379", true, "CA"],
    ]);
  });
  it.each([
    [{ endpoints: [] }, "endpoints"],
    [{ endpoints: ["127.0.0.1:2379"] }, "endpoints"],
    [{ endpoints: ["http://a:1", "https://b:1"] }, "endpoints"],
    [{ endpoints: ["http://user:pw@a:1"] }, "endpoints"],
    [{ endpoints: ["http://a:1"], tls: { ca: "x" } }, "tls"],
    [{ endpoints: ["http://a:1"], timeoutMs: -1 }, "timeoutMs"],
    [{ endpoints: ["http://a:1"], retry: { maxAttempts: 0 } }, "retry.maxAttempts"],
    [
      { endpoints: ["http://a:1"], auth: { username: "u", password: 5 as unknown as string } },
      "auth.password",
    ],
  ])("rejects %j naming %s", (options, field) => {
    try {
      resolveOptions(options);
      expect.unreachable();
    } catch (e) {
      expect(e).toBeInstanceOf(InvalidArgumentError);
      expect((e as InvalidArgumentError).field).toBe(field);
      // Never echo a password back.
      expect((e as Error).message).not.toContain("pw@");
    }
  });
});
