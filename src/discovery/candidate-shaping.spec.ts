import { describe, expect, it } from "vitest";
import { memberOf, shapeCandidates, WarmCandidate } from "./candidate-shaping.js";
import { type ServiceInstanceInit, toInstance } from "./instance.js";
import { localitySettings } from "./locality.js";
import type { PickCandidate } from "./pick-policy.js";
import { slowStartSettings, WarmUp } from "./slow-start.js";

interface Member extends PickCandidate {
  inFlight: number;
}

const member = (key: string, init: Partial<ServiceInstanceInit> = {}): Member => ({
  key,
  instance: toInstance({ service: "s", addr: key, weight: 10, ...init }),
  inFlight: 0,
});

describe("shapeCandidates", () => {
  const a = member("a", { zone: "z1" });
  const b = member("b", { zone: "z2" });

  it("hands back the same array when nothing narrows or ramps (the policy keeps its index)", () => {
    const all = [a, b];
    expect(shapeCandidates(all, undefined, undefined, 0)).toBe(all);
    expect(shapeCandidates(all, localitySettings({ zone: "z3" }), undefined, 0)).toBe(all);
    expect(shapeCandidates(all, undefined, new WarmUp(slowStartSettings()), 0)).toBe(all);
  });

  it("narrows to the zone, then ramps the warming members it kept", () => {
    const warmUp = new WarmUp(slowStartSettings({ windowMs: 1000, minWeightPercent: 10 }));
    warmUp.start("a", 0);
    const shaped = shapeCandidates([a, b], localitySettings({ zone: "z1" }), warmUp, 500);
    expect(shaped.map((c) => [c.key, c.instance.weight])).toEqual([["a", 5]]);
    expect(shaped[0]).toBeInstanceOf(WarmCandidate);
    // Calls in flight read through to the member; the member behind is the one given.
    a.inFlight = 3;
    expect(shaped[0]!.inFlight).toBe(3);
    expect(memberOf<Member>(shaped[0]!)).toBe(a);
    expect(memberOf<Member>(b)).toBe(b);
    // Once the ramp is over: the narrowed array as it is.
    expect(shapeCandidates([a, b], localitySettings({ zone: "z1" }), warmUp, 1000)).toEqual([a]);
  });
});
