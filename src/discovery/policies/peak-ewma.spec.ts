import { describe, expect, it } from "vitest";
import { PeakEwma } from "./peak-ewma.js";

describe("PeakEwma (on a clock passed in)", () => {
  it("has no cost before a call ended; the first call sets cost and success outright", () => {
    const e = new PeakEwma(1000);
    expect(e.cost(0)).toBeUndefined();
    expect(e.success).toBe(1);
    e.observe(40, true, 0);
    expect(e.cost(0)).toBe(40);
    expect(e.success).toBe(0);
  });

  it("takes a slower answer at once (the peak) and a faster one by the weight 1 − e^(−Δt/decay)", () => {
    const e = new PeakEwma(1000);
    e.observe(10, false, 0);
    e.observe(50, false, 1); // slower: believed at once
    expect(e.cost(1)).toBe(50);
    // One decay time later a 10 ms answer pulls the cost 63 % of the way down.
    e.observe(10, false, 1001);
    const w = Math.exp(-1);
    expect(e.cost(1001)).toBeCloseTo(50 * w + 10 * (1 - w), 9);
    // Answers close together barely move it: recovery is believed over time, not over call counts.
    const before = e.cost(1001)!;
    for (let t = 1002; t < 1012; t++) e.observe(10, false, t);
    expect(e.cost(1011)!).toBeGreaterThan(before - 1);
  });

  it("decays towards 0 while no call ends, with the same time constant", () => {
    const e = new PeakEwma(1000);
    e.observe(80, false, 5000);
    expect(e.cost(6000)).toBeCloseTo(80 * Math.exp(-1), 9);
    expect(e.cost(8000)).toBeCloseTo(80 * Math.exp(-3), 9);
    // A clock going backwards does not raise it.
    expect(e.cost(4000)).toBe(80);
  });

  it("averages successes (1) and failures (0) with the same weight (go-zero's success rate)", () => {
    const e = new PeakEwma(1000);
    e.observe(1, false, 0);
    e.observe(1, true, 1000);
    const w = Math.exp(-1);
    expect(e.success).toBeCloseTo(w, 9);
    e.observe(1, false, 2000);
    expect(e.success).toBeCloseTo(w * w + (1 - w), 9);
  });
});
