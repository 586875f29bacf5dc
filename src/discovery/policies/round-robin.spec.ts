import { describe, expect, it } from "vitest";
import { toInstance } from "../instance.js";
import type { PickCandidate } from "../pick-policy.js";
import { RoundRobinPolicy } from "./round-robin.js";

const cand = (key: string, weight: number): PickCandidate => ({
  key,
  instance: toInstance({ service: "s", addr: key, weight }),
  inFlight: 0,
});

/** nginx's smooth weighted round robin as it is written: one pass over every instance per pick. */
function nginx(candidates: readonly PickCandidate[], picks: number): string[] {
  const scores = candidates.map(() => 0);
  const total = candidates.reduce((s, c) => s + c.instance.weight, 0);
  const out: string[] = [];
  for (let n = 0; n < picks; n++) {
    let best = 0;
    for (let i = 0; i < candidates.length; i++) {
      scores[i]! += candidates[i]!.instance.weight;
      if (scores[i]! > scores[best]!) best = i;
    }
    scores[best]! -= total;
    out.push(candidates[best]!.key);
  }
  return out;
}

/** A small deterministic generator (mulberry32), so a failing case can be replayed. */
function seeded(seed: number) {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

describe("RoundRobinPolicy", () => {
  it("gives nginx's sequence exactly, for 200 random sets of integer weights", () => {
    const random = seeded(22);
    for (let run = 0; run < 200; run++) {
      const n = 1 + Math.floor(random() * 8);
      const cs = Array.from({ length: n }, (_, i) => cand(`i${i}`, 1 + Math.floor(random() * 5)));
      const total = cs.reduce((s, c) => s + c.instance.weight, 0);
      const p = new RoundRobinPolicy();
      const got = Array.from({ length: 3 * total }, () => p.pick(cs)!.key);
      expect(got, JSON.stringify(cs.map((c) => c.instance.weight))).toEqual(nginx(cs, 3 * total));
    }
  });

  it("continues each weight's rotation from whose turn it was when handed a new array", () => {
    const p = new RoundRobinPolicy();
    const abcd = ["a", "b", "c", "d"].map((k) => cand(k, 1));
    expect([p.pick(abcd)!.key, p.pick(abcd)!.key]).toEqual(["a", "b"]);
    // "a" ejected: a new array; the turn was "c"'s.
    const bcd = abcd.slice(1);
    expect(Array.from({ length: 4 }, () => p.pick(bcd)!.key)).toEqual(["c", "d", "b", "c"]);
    // Back to four: the turn was "d"'s.
    const again = [...abcd];
    expect(Array.from({ length: 4 }, () => p.pick(again)!.key)).toEqual(["d", "a", "b", "c"]);
  });

  it("spreads 10,000 equal instances evenly, one rotation", () => {
    const p = new RoundRobinPolicy();
    const cs = Array.from({ length: 10_000 }, (_, i) => cand(`i${i}`, 1));
    const seen = new Set<string>();
    for (let i = 0; i < 10_000; i++) seen.add(p.pick(cs)!.key);
    expect(seen.size).toBe(10_000);
  });
});
