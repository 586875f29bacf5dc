import { describe, expect, it } from "vitest";
import { toInstance } from "./instance.js";
import { type PickCandidate, Picker } from "./picker.js";

const cand = (key: string, weight: number, inFlight = 0): PickCandidate => ({
  key,
  instance: toInstance({ service: "s", addr: key, weight }),
  inFlight,
});

describe("Picker", () => {
  it("round robin honours weights and spreads picks evenly (smooth WRR)", () => {
    const p = new Picker("round-robin");
    const cs = [cand("a", 5), cand("b", 1), cand("c", 1)];
    const seq = Array.from({ length: 7 }, () => p.pick(cs)!.key);
    expect(seq).toEqual(["a", "a", "b", "a", "c", "a", "a"]);
    const counts = new Map<string, number>();
    for (let i = 0; i < 700; i++) {
      const k = p.pick(cs)!.key;
      counts.set(k, (counts.get(k) ?? 0) + 1);
    }
    expect(Object.fromEntries(counts)).toEqual({ a: 500, b: 100, c: 100 });
  });

  it("never picks weight 0, and gives undefined when nothing is usable", () => {
    const p = new Picker("round-robin");
    expect(p.pick([cand("a", 0)])).toBeUndefined();
    for (let i = 0; i < 10; i++) expect(p.pick([cand("a", 0), cand("b", 1)])!.key).toBe("b");
  });

  it("p2c prefers the less loaded of the two drawn", () => {
    let i = 0;
    const draws = [0.1, 0.9];
    const p = new Picker("p2c", () => draws[i++ % 2]!);
    expect(p.pick([cand("a", 1, 10), cand("b", 1, 0)])!.key).toBe("b");
    expect(p.pick([cand("a", 1, 0), cand("b", 1, 10)])!.key).toBe("a");
    // Load is per unit of weight: 4 calls on weight 4 beat 2 calls on weight 1.
    expect(p.pick([cand("a", 4, 4), cand("b", 1, 2)])!.key).toBe("a");
  });
});
