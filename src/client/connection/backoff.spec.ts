import { describe, expect, it } from "vitest";
import { backoffDelay } from "./backoff.js";

const opts = { initialMs: 100, maxMs: 1000 };

describe("backoffDelay", () => {
  it("doubles per attempt between half and all of the step", () => {
    expect(backoffDelay(1, opts, () => 0)).toBe(50);
    expect(backoffDelay(1, opts, () => 1)).toBe(100);
    expect(backoffDelay(2, opts, () => 0)).toBe(100);
    expect(backoffDelay(3, opts, () => 1)).toBe(400);
  });
  it("is capped at maxMs", () => {
    expect(backoffDelay(20, opts, () => 1)).toBe(1000);
    expect(backoffDelay(20, opts, () => 0)).toBe(500);
  });
  it("is jittered", () => {
    const delays = new Set(Array.from({ length: 20 }, () => backoffDelay(3, opts)));
    expect(delays.size).toBeGreaterThan(1);
    for (const d of delays) expect(d).toBeGreaterThanOrEqual(200);
  });
});
