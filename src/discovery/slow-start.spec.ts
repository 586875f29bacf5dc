import { describe, expect, it } from "vitest";
import { InvalidArgumentError } from "../client/core/index.js";
import { type SlowStartOptions, slowStartFactor, slowStartSettings, WarmUp } from "./slow-start.js";

describe("slow start (on a clock passed in)", () => {
  it("defaults to a 60 s linear ramp from 10 %", () => {
    expect(slowStartSettings()).toEqual({ windowMs: 60_000, aggression: 1, minWeightPercent: 10 });
    expect(slowStartSettings({})).toEqual({ windowMs: 60_000, aggression: 1, minWeightPercent: 10 });
  });

  it("scales by max(min %, (t / window) ^ (1 / aggression)), 1 from the window's end", () => {
    const linear = slowStartSettings({ windowMs: 1000 });
    expect(slowStartFactor(0, linear)).toBe(0.1);
    expect(slowStartFactor(50, linear)).toBe(0.1);
    expect(slowStartFactor(500, linear)).toBeCloseTo(0.5, 12);
    expect(slowStartFactor(999, linear)).toBeCloseTo(0.999, 12);
    expect(slowStartFactor(1000, linear)).toBe(1);
    expect(slowStartFactor(5000, linear)).toBe(1);
    const aggressive = slowStartSettings({ windowMs: 1000, aggression: 2, minWeightPercent: 1 });
    expect(slowStartFactor(250, aggressive)).toBeCloseTo(0.5, 12);
    const gentle = slowStartSettings({ windowMs: 1000, aggression: 0.5, minWeightPercent: 1 });
    expect(slowStartFactor(500, gentle)).toBeCloseTo(0.25, 12);
    // A clock going backwards gives the minimum, never more.
    expect(slowStartFactor(-100, linear)).toBe(0.1);
  });

  it("tracks joins: factor and warming by key, steps every window / 20 (≥ 100 ms), nothing once warm", () => {
    const w = new WarmUp(slowStartSettings({ windowMs: 10_000 }));
    expect(w.nextStep(0)).toBe(Number.POSITIVE_INFINITY);
    expect(w.factor("old", 0)).toBe(1);
    w.start("new", 1000);
    expect(w.warming(1000)).toEqual(["new"]);
    expect(w.factor("new", 6000)).toBeCloseTo(0.5, 12);
    expect(w.nextStep(6000)).toBe(6500);
    // The step never passes the ramp's end.
    expect(w.nextStep(10_900)).toBe(11_000);
    expect(w.factor("new", 11_000)).toBe(1);
    expect(w.warming(11_000)).toEqual([]);
    expect(w.nextStep(11_000)).toBe(Number.POSITIVE_INFINITY);
    // A short window still steps at most every 100 ms.
    const short = new WarmUp(slowStartSettings({ windowMs: 400 }));
    short.start("k", 0);
    expect(short.nextStep(0)).toBe(100);
    short.forget("k");
    expect(short.nextStep(0)).toBe(Number.POSITIVE_INFINITY);
  });

  it("rejects bad options with InvalidArgumentError naming the field", () => {
    const bad: [unknown, string][] = [
      [null, "slowStart"],
      [5, "slowStart"],
      [{ windowMs: 0 }, "slowStart.windowMs"],
      [{ windowMs: "1" }, "slowStart.windowMs"],
      [{ windowMs: Number.POSITIVE_INFINITY }, "slowStart.windowMs"],
      [{ aggression: 0 }, "slowStart.aggression"],
      [{ aggression: -1 }, "slowStart.aggression"],
      [{ minWeightPercent: 0 }, "slowStart.minWeightPercent"],
      [{ minWeightPercent: 101 }, "slowStart.minWeightPercent"],
    ];
    for (const [options, field] of bad) {
      let error: unknown;
      try {
        slowStartSettings(options as SlowStartOptions);
      } catch (err) {
        error = err;
      }
      expect(error, JSON.stringify(options)).toBeInstanceOf(InvalidArgumentError);
      expect((error as InvalidArgumentError).message, JSON.stringify(options)).toContain(field);
    }
  });
});
