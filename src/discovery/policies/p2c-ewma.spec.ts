import { describe, expect, it } from "vitest";
import { InvalidArgumentError } from "../../client/core/errors.js";
import { toInstance } from "../instance.js";
import type { PickCandidate } from "../pick-policy.js";
import { Picker } from "../picker.js";
import { P2cEwmaPolicy, p2cEwmaSettings } from "./p2c-ewma.js";

const cand = (key: string, inFlight = 0, weight = 1): PickCandidate => ({
  key,
  instance: toInstance({ service: "s", addr: key, weight }),
  inFlight,
});

/** Random numbers from a fixed list, in turn. */
const sequence = (values: number[]) => {
  let i = 0;
  return () => values[i++ % values.length]!;
};

describe("P2cEwmaPolicy", () => {
  it("takes the lower peak EWMA latency × (in flight + 1) of the two drawn", () => {
    // Draws 0.1 then 0.6 of two: a then b.
    const p = new P2cEwmaPolicy(p2cEwmaSettings({ decayMs: 1000 }), sequence([0.1, 0.6]));
    p.observe("a", { latencyMs: 50, failed: false }, 0);
    p.observe("b", { latencyMs: 5, failed: false }, 0);
    expect(p.pick([cand("a"), cand("b")], 0)!.key).toBe("b");
    // 5 ms × 11 in flight = 55 > 50 ms × 1.
    expect(p.pick([cand("a"), cand("b", 10)], 0)!.key).toBe("a");
    expect(p.load(cand("b", 10), 0)).toBe(55);
    // Per unit of weight: 50 ms on weight 20 beats 5 ms on weight 1.
    expect(p.pick([cand("a", 0, 20), cand("b")], 0)!.key).toBe("a");
  });

  it("tries an instance with no answer yet while idle, and keeps off it while its first call is in flight", () => {
    const p = new P2cEwmaPolicy(p2cEwmaSettings(), sequence([0.1, 0.6]));
    p.observe("a", { latencyMs: 1, failed: false }, 0);
    expect(p.pick([cand("a"), cand("new")], 0)!.key).toBe("new");
    expect(p.pick([cand("a", 5), cand("new", 1)], 0)!.key).toBe("a");
  });

  it("draws again (up to 3 pairs) around an instance at or below 50 % success, as go-zero", () => {
    // Pairs drawn from three: (a, b), then (c, b) with the draws below.
    const p = new P2cEwmaPolicy(p2cEwmaSettings({ decayMs: 1000 }), sequence([0.1, 0.5, 0.9, 0.5]));
    p.observe("a", { latencyMs: 1, failed: true }, 0); // fastest, but failing
    p.observe("b", { latencyMs: 10, failed: false }, 0);
    p.observe("c", { latencyMs: 20, failed: false }, 0);
    expect(p.pick([cand("a"), cand("b"), cand("c")], 0)!.key).toBe("b");
    // With no healthy pair in 3 draws, the last pair is compared by load alone.
    const q = new P2cEwmaPolicy(p2cEwmaSettings(), sequence([0.1, 0.9]));
    q.observe("a", { latencyMs: 1, failed: true }, 0);
    q.observe("b", { latencyMs: 10, failed: true }, 0);
    expect(q.pick([cand("a"), cand("b")], 0)!.key).toBe("a");
  });

  it("lets a shunned instance back as its cost decays while idle, and forgets on request", () => {
    const p = new P2cEwmaPolicy(p2cEwmaSettings({ decayMs: 1000 }), sequence([0.1, 0.6]));
    p.observe("slow", { latencyMs: 100, failed: false }, 0);
    const both = [cand("slow"), cand("fast")];
    // "fast" keeps answering in 2 ms; "slow" gets no call: 100 × e^-3 ≈ 5 ms at 3 s, still above 2 ms.
    p.observe("fast", { latencyMs: 2, failed: false }, 3000);
    expect(p.pick(both, 3000)!.key).toBe("fast");
    // 100 × e^-4 ≈ 1.8 ms at 4 s: below fast's 2 ms, so "slow" is tried again.
    p.observe("fast", { latencyMs: 2, failed: false }, 4000);
    expect(p.pick(both, 4000)!.key).toBe("slow");
    p.forget("slow");
    expect(p.load(cand("slow"), 5000)).toBe(0);
  });
});

describe("Picker policy names and options", () => {
  it("refuses an unknown policy and bad p2c-ewma options with InvalidArgumentError", () => {
    expect(() => new Picker("fastest" as never)).toThrow(InvalidArgumentError);
    expect(() => new Picker(null as never)).toThrow(InvalidArgumentError);
    for (const p2cEwma of [null, 3, { decayMs: 0 }, { decayMs: "1s" }, { decayMs: Number.NaN }]) {
      expect(() => new Picker("p2c-ewma", Math.random, { p2cEwma: p2cEwma as never })).toThrow(
        InvalidArgumentError,
      );
    }
    expect(new Picker("p2c-ewma", Math.random, { p2cEwma: { decayMs: 500 } })).toBeInstanceOf(Picker);
  });
});
