import { describe, expect, it } from "vitest";
import { combine, measure, measurementOf, median } from "./measure.js";

describe("measurementOf and combine", () => {
  it("rounds one window's figures as the results record them", () => {
    expect(
      measurementOf({ ops: 3000, errors: 1, elapsedMs: 600.04, cpuUs: 300_000, p50Us: 212.345 }),
    ).toEqual({
      ops: 3000,
      errors: 1,
      opsPerSec: 5000,
      cpuUsPerOp: 100,
      elapsedMs: 600,
      p50Us: 212.3,
    });
  });

  it("has no p50 for a window without a successful call", () => {
    expect(
      measurementOf({ ops: 0, errors: 5, elapsedMs: 600, cpuUs: 10, p50Us: Number.NaN }),
    ).not.toHaveProperty("p50Us");
  });

  it("adds windows up, CPU weighted by ops, p50 the median of the windows' p50s", () => {
    const a = measurementOf({ ops: 1000, errors: 0, elapsedMs: 500, cpuUs: 100_000, p50Us: 300 });
    const b = measurementOf({ ops: 3000, errors: 2, elapsedMs: 500, cpuUs: 60_000, p50Us: 100 });
    const c = measurementOf({ ops: 2000, errors: 0, elapsedMs: 500, cpuUs: 40_000, p50Us: 200 });
    expect(combine([a, b, c])).toEqual({
      ops: 6000,
      errors: 2,
      opsPerSec: 4000,
      cpuUsPerOp: 33.3,
      elapsedMs: 1500,
      p50Us: 200,
    });
  });

  it("median takes the lower middle value of an even count", () => {
    expect(median([4, 1, 3, 2])).toBe(2);
    expect(median([])).toBeNaN();
  });
});

describe("measure", () => {
  it("counts calls and failures and records a p50 of the successful calls", async () => {
    let calls = 0;
    const m = await measure(
      async (i) => {
        calls++;
        await new Promise((r) => setImmediate(r));
        if (i % 2 === 1) throw new Error("odd");
      },
      { concurrency: 2, durationMs: 200, warmupMs: 0 },
    );
    expect(m.ops + m.errors).toBe(calls);
    expect(m.ops).toBeGreaterThan(0);
    expect(m.errors).toBeGreaterThan(0);
    expect(m.p50Us).toBeGreaterThan(0);
  });
});
