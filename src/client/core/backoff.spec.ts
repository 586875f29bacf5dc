import { describe, expect, it } from "vitest";
import { Backoff, backoffDelay } from "./backoff.js";

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

describe("Backoff", () => {
  it("counts failures until reset, each delay within its step", () => {
    const b = new Backoff(opts);
    const first = b.next();
    expect(first).toBeGreaterThanOrEqual(50);
    expect(first).toBeLessThanOrEqual(100);
    const second = b.next();
    expect(second).toBeGreaterThanOrEqual(100);
    expect(second).toBeLessThanOrEqual(200);
    const third = b.next(); // the third failure's step: 200..400
    expect(third).toBeGreaterThanOrEqual(200);
    expect(third).toBeLessThanOrEqual(400);
    b.reset();
    // No failure counted any more: the next delay is the first step's again.
    const afterReset = b.next();
    expect(afterReset).toBeGreaterThanOrEqual(50);
    expect(afterReset).toBeLessThanOrEqual(100);
  });
});

describe("Backoff.afterRun", () => {
  it("starts over (no delay) after a run that held, and backs off after one that failed at once", () => {
    const b = new Backoff(opts);
    b.next();
    b.next();
    expect(b.afterRun(performance.now() - 10_000, 5_000)).toBe(0);
    // Started over: the quick failure's delay is the first step's (the third's, 200..400, had it not).
    const quick = b.afterRun(performance.now(), 5_000);
    expect(quick).toBeGreaterThanOrEqual(50);
    expect(quick).toBeLessThanOrEqual(100);
    // And it counted as one failure: the next delay is the second step's.
    const next = b.next();
    expect(next).toBeGreaterThanOrEqual(100);
    expect(next).toBeLessThanOrEqual(200);
  });
});
