import { describe, expect, it } from "vitest";
import type { InstanceChange } from "./discovery.js";
import { type ServiceInstanceInit, toInstance } from "./instance.js";
import { outlierDetectionSettings } from "./outlier-detection.js";
import { PickPool, type PoolMember } from "./pick-pool.js";
import { Picker } from "./picker.js";

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
