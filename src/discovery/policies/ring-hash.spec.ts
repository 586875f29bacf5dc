import { describe, expect, it } from "vitest";
import { InvalidArgumentError } from "../../client/core/errors.js";
import { toInstance } from "../instance.js";
import type { PickCandidate } from "../pick-policy.js";
import { Picker } from "../picker.js";
import { buildRing, MAX_RING_POINTS, RingHashPolicy, ringHashSettings } from "./ring-hash.js";

const cand = (key: string, weight = 1): PickCandidate => ({
  key,
  instance: toInstance({ service: "s", addr: key, weight }),
  inFlight: 0,
});
const fleet = (n: number, from = 0) =>
  Array.from({ length: n }, (_, i) => cand(`s/10.0.0.${from + i}:50051`));
const KEYS = Array.from({ length: 10_000 }, (_, i) => `user-${i}`);

/** Where each of `KEYS` goes among `candidates`. */
function mapping(policy: RingHashPolicy, candidates: readonly PickCandidate[]): string[] {
  return KEYS.map((hashKey) => policy.pick(candidates, 0, { hashKey })!.key);
}

function moved(before: readonly string[], after: readonly string[]): number {
  let n = 0;
  for (let i = 0; i < before.length; i++) if (before[i] !== after[i]) n++;
  return n / before.length;
}

describe("RingHashPolicy", () => {
  it("maps a key to the same instance every time, in every policy object and whatever the array order", () => {
    const set = fleet(10);
    const first = mapping(new RingHashPolicy(), set);
    expect(mapping(new RingHashPolicy(), set)).toEqual(first);
    expect(mapping(new RingHashPolicy(), [...set].reverse())).toEqual(first);
    const policy = new RingHashPolicy();
    expect(mapping(policy, set)).toEqual(mapping(policy, set));
    // Every instance owns some keys.
    expect(new Set(first).size).toBe(10);
  });

  it("moves about 1/N of the keys when one of N instances leaves, and only that instance's keys", () => {
    for (const n of [3, 10, 50]) {
      const set = fleet(n);
      const policy = new RingHashPolicy();
      const before = mapping(policy, set);
      const gone = set[1]!.key;
      const rest = set.filter((c) => c.key !== gone);
      // The same policy walks past the missing owner on its ring; a fresh one builds the smaller ring.
      const after = mapping(policy, rest);
      expect(mapping(new RingHashPolicy(), rest)).toEqual(after);
      for (let i = 0; i < KEYS.length; i++) if (before[i] !== gone) expect(after[i]).toBe(before[i]);
      const fraction = moved(before, after);
      expect(fraction).toBeGreaterThan(0);
      expect(fraction).toBeLessThan(2 / n);
    }
  });

  it("moves about 1/N of the keys when an instance joins N-1, all of them to the new one", () => {
    for (const n of [3, 10, 50]) {
      const set = fleet(n - 1);
      const policy = new RingHashPolicy();
      const before = mapping(policy, set);
      const joined = cand("s/10.1.0.1:50051");
      const after = mapping(policy, [...set, joined]);
      // Merged into the ring it had: the same mapping as a ring built for the new set.
      expect(after).toEqual(mapping(new RingHashPolicy(), [...set, joined]));
      for (let i = 0; i < KEYS.length; i++) if (after[i] !== before[i]) expect(after[i]).toBe(joined.key);
      const fraction = moved(before, after);
      expect(fraction).toBeGreaterThan(0);
      expect(fraction).toBeLessThan(2 / n);
    }
  });

  it("through comings and goings, maps as a ring built afresh for the set of the moment", () => {
    const policy = new RingHashPolicy();
    let set = fleet(8);
    for (let step = 0; step < 12; step++) {
      // One leaves, two join (every third step, only one joins); now and then a weight changes.
      set = set.slice(1);
      set.push(cand(`s/10.2.0.${2 * step}:50051`));
      if (step % 3 !== 0) set.push(cand(`s/10.2.0.${2 * step + 1}:50051`));
      if (step % 5 === 4) set[0] = cand(set[0]!.key, 2);
      expect(mapping(policy, set)).toEqual(mapping(new RingHashPolicy(), set));
    }
  });

  it("gives each instance a share of the keys close to its share of the weight", () => {
    const set = [cand("a", 1), cand("b", 2), cand("c", 3), cand("d", 4)];
    const counts = new Map<string, number>();
    for (const k of mapping(new RingHashPolicy(), set)) counts.set(k, (counts.get(k) ?? 0) + 1);
    for (const c of set) {
      const expected = (c.instance.weight / 10) * KEYS.length;
      // 100 points per unit of weight: a share deviates by about 1/√(100·w); 25 % is several deviations.
      expect(Math.abs(counts.get(c.key)! - expected) / expected).toBeLessThan(0.25);
    }
  });

  it("an instance left out (ejected, unhealthy, tried) sends each of its keys to the next owner on the ring", () => {
    const set = fleet(5);
    const policy = new RingHashPolicy();
    const before = mapping(policy, set);
    const out = set[2]!.key;
    const rest = set.filter((c) => c.key !== out);
    const during = mapping(policy, rest);
    // Back in: the keys return to it (the ring is the same function of the set).
    expect(mapping(policy, set)).toEqual(before);
    // A second one out as well: keys of the first still go where they went without it alone, unless
    // that was the second.
    const out2 = set[3]!.key;
    const fewer = rest.filter((c) => c.key !== out2);
    const after = mapping(policy, fewer);
    for (let i = 0; i < KEYS.length; i++) if (during[i] !== out2) expect(after[i]).toBe(during[i]);
  });

  it("most instances left out, then back: the few left take the keys a ring of their own gives, then all return", () => {
    const set = fleet(10);
    const policy = new RingHashPolicy();
    const before = mapping(policy, set);
    const few = [set[4]!, set[7]!];
    const during = mapping(policy, few);
    expect(during).toEqual(mapping(new RingHashPolicy(), few));
    for (let i = 0; i < KEYS.length; i++)
      if (few.some((c) => c.key === before[i])) expect(during[i]).toBe(before[i]);
    expect(mapping(policy, set)).toEqual(before);
  });

  it("rebuilds the ring when an instance's weight changes, and the mapping follows the new weight", () => {
    const set = [cand("a", 1), cand("b", 1)];
    const policy = new RingHashPolicy();
    const even = mapping(policy, set).filter((k) => k === "a").length;
    const heavier = mapping(policy, [cand("a", 3), cand("b", 1)]).filter((k) => k === "a").length;
    expect(heavier).toBeGreaterThan(even);
    expect(heavier / KEYS.length).toBeGreaterThan(0.6);
  });

  it("without a key, picks the owner of a random point (weighted)", () => {
    const set = [cand("a", 1), cand("b", 9)];
    let r = 0;
    const randoms = Array.from({ length: 1000 }, (_, i) => (i + 0.5) / 1000);
    const policy = new RingHashPolicy(ringHashSettings(), () => randoms[r++ % randoms.length]!);
    const counts = { a: 0, b: 0 } as Record<string, number>;
    for (let i = 0; i < 1000; i++) counts[policy.pick(set, 0)!.key]!++;
    expect(counts.a! + counts.b!).toBe(1000);
    expect(counts.b!).toBeGreaterThan(counts.a! * 4);
  });

  it("gives each instance max(1, weight × pointsPerWeight) points, scaled down past the ring cap", () => {
    expect(buildRing([cand("a", 1), cand("b", 2.5)], 100).points.length).toBe(350);
    expect(buildRing([cand("a", 0.001), cand("b", 1)], 100).points.length).toBe(101);
    const big = buildRing(fleet(20_000), 100);
    expect(big.points.length).toBeLessThanOrEqual(MAX_RING_POINTS);
    // Sorted, so that a pick is a binary search.
    let unsorted = 0;
    for (let i = 1; i < big.points.length; i++) if (big.points[i]! < big.points[i - 1]!) unsorted++;
    expect(unsorted).toBe(0);
  });
});

describe("Picker ring-hash options", () => {
  it("rejects bad options with an InvalidArgumentError naming them", () => {
    const bad: [unknown, string][] = [
      [null, "ringHash"],
      ["x", "ringHash"],
      [{ header: "" }, "ringHash.header"],
      [{ header: "a b" }, "ringHash.header"],
      [{ header: 5 }, "ringHash.header"],
      [{ pointsPerWeight: 0 }, "ringHash.pointsPerWeight"],
      [{ pointsPerWeight: Number.NaN }, "ringHash.pointsPerWeight"],
      [{ pointsPerWeight: "100" }, "ringHash.pointsPerWeight"],
    ];
    for (const [ringHash, field] of bad) {
      const make = () => new Picker("ring-hash", Math.random, { ringHash: ringHash as never });
      expect(make).toThrow(InvalidArgumentError);
      expect(make).toThrow(field);
    }
    expect(
      () => new Picker("ring-hash", Math.random, { ringHash: { header: "X-Tenant", pointsPerWeight: 10 } }),
    ).not.toThrow();
  });

  it("passes the key through the Picker, and a single candidate is taken whatever the key", () => {
    const p = new Picker("ring-hash");
    const set = fleet(4);
    const policy = new RingHashPolicy();
    for (const hashKey of KEYS.slice(0, 100)) {
      expect(p.pick(set, 0, { hashKey })!.key).toBe(policy.pick(set, 0, { hashKey })!.key);
    }
    expect(p.pick([set[0]!], 0, { hashKey: "x" })!.key).toBe(set[0]!.key);
  });
});
