import { describe, expect, it } from "vitest";
import type { InstanceChange } from "./discovery.js";
import { type ServiceInstanceInit, toInstance } from "./instance.js";
import { localitySettings } from "./locality.js";
import { outlierDetectionSettings } from "./outlier-detection.js";
import { PickPool, type PoolMember } from "./pick-pool.js";
import { Picker } from "./picker.js";
import { slowStartSettings } from "./slow-start.js";

const added = (key: string, init: Partial<ServiceInstanceInit> = {}): InstanceChange => ({
  type: "added",
  key,
  instance: toInstance({ service: "s", addr: key, ...init }),
});

function pool(keys: string[]) {
  const gone: PoolMember[] = [];
  const p = new PickPool(new Picker("round-robin"), outlierDetectionSettings({ baseEjectionMs: 100 }), (m) =>
    gone.push(m),
  );
  p.apply(keys.map((k) => added(k)));
  const picks = (n: number, now: number, tried = new Set<string>()) =>
    Array.from({ length: n }, () => p.choose(tried, now)?.key);
  return { p, gone, picks };
}

describe("PickPool", () => {
  it("leaves an ejected member out until its ejection ends, by timestamp", () => {
    const { p, picks } = pool(["a", "b", "c"]);
    p.record(p.members.get("b")!, "refused", 0);
    expect(p.ejected(0)).toEqual(["b"]);
    expect(new Set(picks(6, 50))).toEqual(new Set(["a", "c"]));
    expect(p.ejected(100)).toEqual([]);
    expect(new Set(picks(6, 100))).toEqual(new Set(["a", "b", "c"]));
  });

  it("falls back to the ejected when every usable member is ejected", () => {
    const { p, picks } = pool(["a", "b"]);
    p.record(p.members.get("a")!, "refused", 0);
    p.record(p.members.get("b")!, "refused", 0);
    expect(new Set(picks(4, 10))).toEqual(new Set(["a", "b"]));
  });

  it("on a retry prefers untried members that are not ejected, then untried ejected ones", () => {
    const { p, picks } = pool(["a", "b", "c"]);
    p.record(p.members.get("c")!, "refused", 0);
    expect(picks(4, 10, new Set(["a"]))).toEqual(["b", "b", "b", "b"]);
    expect(picks(2, 10, new Set(["a", "b"]))).toEqual(["c", "c"]);
    expect(picks(1, 10, new Set(["a", "b", "c"]))).toEqual([undefined]);
  });

  it("skips draining and weight-0 members; keeps health across same-address updates only", () => {
    const { p, gone, picks } = pool(["a", "b"]);
    p.apply([added("c", { weight: 0 }), added("d", { draining: true })]);
    expect(new Set(picks(8, 0))).toEqual(new Set(["a", "b"]));
    const a = p.members.get("a")!;
    p.record(a, "refused", 0);
    p.apply([
      {
        type: "updated",
        key: "a",
        instance: toInstance({ service: "s", addr: "a", weight: 2 }),
        previous: a.instance,
      },
    ]);
    expect(p.members.get("a")).toBe(a);
    expect(p.ejected(1)).toEqual(["a"]);
    // A new address is a new instance: fresh health, and the old member is handed back to be closed.
    p.apply([
      { type: "updated", key: "a", instance: toInstance({ service: "s", addr: "a2" }), previous: a.instance },
    ]);
    expect(gone).toEqual([a]);
    expect(a.gone).toBe(true);
    expect(p.ejected(1)).toEqual([]);
    p.apply([{ type: "removed", key: "b", instance: p.members.get("b")!.instance }]);
    expect(gone.map((m) => m.key)).toEqual(["a", "b"]);
    expect(new Set(picks(4, 1))).toEqual(new Set(["a"]));
  });

  it("never ejects when detection is off", () => {
    const p = new PickPool(new Picker("round-robin"), undefined, () => {});
    p.apply([added("a"), added("b")]);
    for (let i = 0; i < 5; i++) p.record(p.members.get("a")!, "refused", 0);
    expect(p.ejected(0)).toEqual([]);
    expect(new Set(Array.from({ length: 4 }, () => p.choose(new Set(), 0)?.key))).toEqual(
      new Set(["a", "b"]),
    );
  });
});

describe("PickPool with p2c-ewma", () => {
  it("hands each call's latency and verdict to the policy, and ejects on the failure rate", () => {
    const p = new PickPool(
      new Picker("p2c-ewma", () => 0.4),
      outlierDetectionSettings({ failureRateWindow: 4, baseEjectionMs: 100 }),
      () => {},
    );
    p.apply([added("a"), added("b")]);
    const [a, b] = [p.members.get("a")!, p.members.get("b")!];
    p.record(a, "answered", 0, { latencyMs: 50, failed: false });
    p.record(b, "answered", 0, { latencyMs: 5, failed: false });
    // Both drawn (the second draw is the first's neighbour): the faster wins.
    expect(p.choose(new Set(), 1)?.key).toBe("b");
    for (let t = 1; t <= 4; t++) p.record(b, "neutral", t, { latencyMs: 1, failed: t % 2 === 0 });
    expect(p.ejected(5)).toEqual(["b"]);
    expect(p.choose(new Set(), 5)?.key).toBe("a");
  });
});

/** Counts of each key over `n` picks at `now`. */
function counts(p: PickPool, n: number, now: number): Record<string, number> {
  const out: Record<string, number> = {};
  for (let i = 0; i < n; i++) {
    const key = p.choose(new Set(), now)!.key;
    out[key] = (out[key] ?? 0) + 1;
  }
  return out;
}

describe("PickPool with locality", () => {
  const zoned = () => {
    const p = new PickPool(
      new Picker("round-robin"),
      outlierDetectionSettings({ baseEjectionMs: 100 }),
      () => {},
      {
        locality: localitySettings({ zone: "a", region: "r1", minInstances: 2 }),
      },
    );
    p.apply([
      added("a1", { zone: "a", region: "r1" }),
      added("a2", { zone: "a", region: "r1" }),
      added("b1", { zone: "b", region: "r1" }),
      added("c1", { zone: "c", region: "r2" }),
    ]);
    return p;
  };

  it("keeps calls in the zone, spills to the region when an ejection leaves it short, comes back after", () => {
    const p = zoned();
    expect(counts(p, 10, 0)).toEqual({ a1: 5, a2: 5 });
    p.record(p.members.get("a2")!, "refused", 0);
    // a1 alone is under minInstances 2: a1 and the rest of region r1, never c1.
    expect(counts(p, 10, 50)).toEqual({ a1: 5, b1: 5 });
    // The ejection ends (by timestamp): back in the zone.
    expect(counts(p, 10, 100)).toEqual({ a1: 5, a2: 5 });
  });

  it("spills everywhere once the region is short too; draining counts as gone", () => {
    const p = zoned();
    const a1 = p.members.get("a1")!;
    const b1 = p.members.get("b1")!;
    p.apply([
      {
        type: "updated",
        key: "a1",
        instance: toInstance({ ...a1.instance, draining: true }),
        previous: a1.instance,
      },
    ]);
    p.record(b1, "refused", 0);
    expect(counts(p, 10, 50)).toEqual({ a2: 5, c1: 5 });
  });

  it("retries untried local members first, then any untried one", () => {
    const p = zoned();
    expect(p.choose(new Set(["a1"]), 0)?.key).toBe("a2");
    expect(
      new Set([p.choose(new Set(["a1", "a2"]), 0)?.key, p.choose(new Set(["a1", "a2"]), 0)?.key]),
    ).toEqual(new Set(["b1", "c1"]));
  });

  it("composes with p2c and p2c-ewma: picks stay in the zone", () => {
    for (const policy of ["p2c", "p2c-ewma"] as const) {
      const p = new PickPool(new Picker(policy), undefined, () => {}, {
        locality: localitySettings({ zone: "a" }),
      });
      p.apply([
        added("a1", { zone: "a" }),
        added("a2", { zone: "a" }),
        added("b1", { zone: "b" }),
        added("b2", { zone: "b" }),
      ]);
      const seen = counts(p, 200, 0);
      expect(Object.keys(seen).sort(), policy).toEqual(["a1", "a2"]);
    }
  });
});

describe("PickPool with slow start (fake clock)", () => {
  const warming = (policy: "round-robin" | "p2c" | "p2c-ewma") => {
    const p = new PickPool(new Picker(policy), undefined, () => {}, {
      slowStart: slowStartSettings({ windowMs: 10_000 }),
    });
    p.apply([added("old")], 0, true);
    p.apply([added("new")], 1000);
    return p;
  };

  it("round robin: a new member gets its ramped share, then an equal one", () => {
    const p = warming("round-robin");
    expect(p.warming(1000)).toEqual(["new"]);
    // At join: 10 % of its weight, so 1 call in 11.
    expect(counts(p, 110, 1000)).toEqual({ old: 100, new: 10 });
    // Half-way: weight 0.5, 1 call in 3.
    expect(counts(p, 150, 6000)).toEqual({ old: 100, new: 50 });
    expect(counts(p, 100, 11_000)).toEqual({ old: 50, new: 50 });
    expect(p.warming(11_000)).toEqual([]);
  });

  it("p2c and p2c-ewma: a new member gets a clearly smaller share while ramping", () => {
    for (const policy of ["p2c", "p2c-ewma"] as const) {
      const p = warming(policy);
      const early = counts(p, 400, 1000);
      expect(early.new ?? 0, policy).toBeLessThan(100);
      const late = counts(p, 400, 11_000);
      expect(late.new, policy).toBeGreaterThan(100);
    }
  });

  it("the first view does not ramp; a member back to serving ramps again; a removed one stops", () => {
    const p = warming("round-robin");
    p.setServing("old", false, 2000);
    p.setServing("old", true, 2000);
    expect(p.warming(2000).sort()).toEqual(["new", "old"]);
    p.apply([{ type: "removed", key: "new", instance: p.members.get("new")!.instance }], 3000);
    expect(p.warming(3000)).toEqual(["old"]);
  });
});
