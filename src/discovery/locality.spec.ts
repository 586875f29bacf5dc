import { describe, expect, it } from "vitest";
import { InvalidArgumentError } from "../client/core/index.js";
import { type ServiceInstanceInit, toInstance } from "./instance.js";
import { type LocalityOptions, localCandidates, localitySettings, localityTier } from "./locality.js";
import type { PickCandidate } from "./pick-policy.js";

const cand = (key: string, init: Partial<ServiceInstanceInit> = {}): PickCandidate => ({
  key,
  instance: toInstance({ service: "s", addr: key, ...init }),
  inFlight: 0,
});

const keys = (cs: readonly PickCandidate[]) => cs.map((c) => c.key);

describe("locality", () => {
  const a1 = cand("a1", { zone: "a", region: "r1" });
  const a2 = cand("a2", { zone: "a", region: "r1" });
  const b1 = cand("b1", { zone: "b", region: "r1" });
  const c1 = cand("c1", { zone: "c", region: "r2" });
  const none = cand("none");

  it("ranks the caller's zone, then its region, then the rest", () => {
    const s = localitySettings({ zone: "a", region: "r1" });
    expect([a1, b1, c1, none].map((c) => localityTier(c.instance, s))).toEqual([0, 1, 2, 2]);
    // Without a region, every other zone is as far.
    const noRegion = localitySettings({ zone: "a" });
    expect([a1, b1, c1].map((c) => localityTier(c.instance, noRegion))).toEqual([0, 2, 2]);
  });

  it("keeps the zone while it meets minInstances; spills to the region, then everywhere", () => {
    const all = [a1, b1, a2, c1, none];
    expect(keys(localCandidates(all, localitySettings({ zone: "a", region: "r1" })))).toEqual(["a1", "a2"]);
    const two = localitySettings({ zone: "a", region: "r1", minInstances: 2 });
    expect(keys(localCandidates(all, two))).toEqual(["a1", "a2"]);
    // One of zone a is gone: zone a and the rest of region r1 (the zone's survivor keeps its calls).
    expect(keys(localCandidates([a1, b1, c1, none], two))).toEqual(["a1", "b1"]);
    // Region r1 below the threshold too: everyone.
    const three = localitySettings({ zone: "a", region: "r1", minInstances: 3 });
    expect(keys(localCandidates([a1, b1, c1, none], three))).toEqual(["a1", "b1", "c1", "none"]);
    // Nothing in the zone or region: everyone (never an empty set).
    expect(keys(localCandidates([c1, none], localitySettings({ zone: "a", region: "r1" })))).toEqual([
      "c1",
      "none",
    ]);
  });

  it("spills when the zone carries less than minShare of the healthy weight", () => {
    const heavy = [cand("a1", { zone: "a", weight: 1 }), cand("b1", { zone: "b", weight: 4 })];
    expect(keys(localCandidates(heavy, localitySettings({ zone: "a", minShare: 0.2 })))).toEqual(["a1"]);
    expect(keys(localCandidates(heavy, localitySettings({ zone: "a", minShare: 0.25 })))).toEqual([
      "a1",
      "b1",
    ]);
  });

  it("hands back the same array when nothing is narrowed (a policy keeps its index)", () => {
    const local = [a1, a2];
    expect(localCandidates(local, localitySettings({ zone: "a" }))).toBe(local);
    const all = [a1, b1, c1];
    expect(localCandidates(all, localitySettings({ zone: "a", minInstances: 5 }))).toBe(all);
  });

  it("rejects bad options with InvalidArgumentError naming the field", () => {
    const bad: [unknown, string][] = [
      [null, "locality"],
      ["a", "locality"],
      [{}, "locality.zone"],
      [{ zone: "" }, "locality.zone"],
      [{ zone: 1 }, "locality.zone"],
      [{ zone: "a", region: 2 }, "locality.region"],
      [{ zone: "a", minInstances: 0 }, "locality.minInstances"],
      [{ zone: "a", minInstances: 1.5 }, "locality.minInstances"],
      [{ zone: "a", minShare: -0.1 }, "locality.minShare"],
      [{ zone: "a", minShare: 1.1 }, "locality.minShare"],
      [{ zone: "a", minShare: "x" }, "locality.minShare"],
    ];
    for (const [options, field] of bad) {
      let error: unknown;
      try {
        localitySettings(options as LocalityOptions);
      } catch (err) {
        error = err;
      }
      expect(error, JSON.stringify(options)).toBeInstanceOf(InvalidArgumentError);
      expect((error as InvalidArgumentError).message, JSON.stringify(options)).toContain(field);
    }
    expect(localitySettings({ zone: "a" })).toEqual({
      zone: "a",
      region: undefined,
      minInstances: 1,
      minShare: 0,
    });
  });
});
