import { describe, expect, it } from "vitest";
import { KeptLease } from "./kept-lease.js";
import type { Lease } from "./lease.js";

const kept = () => new KeptLease({ id: 1n } as Lease, { onDue: () => {} });

describe("KeptLease", () => {
  it("is lost at sentAt + ttl - margin, not later, and refreshes a third of the TTL after an answer", () => {
    const k = kept();
    k.refreshed(1_000, 3_000, 500, 1_010);
    expect(k.deadline).toBe(3_500);
    expect(k.refreshAt).toBe(2_000);
    expect(k.nextAt).toBe(2_000);
    expect(k.due(1_999)).toBe("none");
    expect(k.due(2_000)).toBe("refresh");
    k.refreshAt = Number.POSITIVE_INFINITY; // the refresh is in flight
    expect(k.nextAt).toBe(3_500);
    expect(k.due(3_499)).toBe("none");
    expect(k.due(3_500)).toBe("lost");
  });

  it("puts refreshes that come due close together on one grid step, never more than a step early", () => {
    const a = kept();
    const b = kept();
    a.refreshed(0, 30_000, 0, 10_001);
    b.refreshed(0, 30_000, 0, 10_099);
    expect(a.refreshAt).toBe(20_000);
    expect(b.refreshAt).toBe(20_000);
    // A short TTL gets a finer grid: a tenth of its interval.
    const c = kept();
    c.refreshed(0, 300, 0, 7);
    expect(c.refreshAt).toBe(100);
    expect(c.refreshAt).toBeGreaterThanOrEqual(7 + 100 - 10);
  });

  it("moves the deadline forward and never backwards", () => {
    const k = kept();
    k.refreshed(0, 3_000, 0, 10);
    k.refreshed(2_000, 3_000, 0, 2_010);
    k.refreshed(100, 3_000, 0, 2_020); // an older send answered late: the deadline stays
    expect(k.deadline).toBe(5_000);
  });

  it("a margin larger than what is left still counts from the send; a negative margin counts as none", () => {
    const k = kept();
    k.refreshed(0, 1_000, -50, 5);
    expect(k.deadline).toBe(1_000);
  });

  it("tells its owner when the queue wakes it, and forgets its queue handle", () => {
    const due: KeptLease[] = [];
    const k = new KeptLease({ id: 2n } as Lease, { onDue: (x) => due.push(x) });
    k.handle = { at: 5 };
    k.onDeadline();
    expect(due).toEqual([k]);
    expect(k.handle).toBeUndefined();
  });
});
