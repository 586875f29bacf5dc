import { afterEach, describe, expect, it, vi } from "vitest";
import { DeadlineMonitor } from "./deadline-monitor.js";

describe("DeadlineMonitor", () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it("fires at sentAt + ttl - margin, not later", () => {
    vi.useFakeTimers({ now: 1_000 });
    let fired = 0;
    const m = new DeadlineMonitor({ onExpired: () => fired++ });
    m.refresh(1_000, 3_000, 500);
    expect(m.deadline).toBe(3_500);
    vi.advanceTimersByTime(2_499);
    expect(fired).toBe(0);
    vi.advanceTimersByTime(1);
    expect(fired).toBe(1);
    expect(m.expired).toBe(true);
  });

  it("moves forward on refresh and never backwards", () => {
    vi.useFakeTimers({ now: 0 });
    let fired = 0;
    const m = new DeadlineMonitor({ onExpired: () => fired++ });
    m.refresh(0, 3_000, 0);
    vi.advanceTimersByTime(2_000);
    m.refresh(2_000, 3_000, 0);
    m.refresh(100, 3_000, 0); // an older send answered late: ignored
    expect(m.deadline).toBe(5_000);
    vi.advanceTimersByTime(2_999);
    expect(fired).toBe(0);
    vi.advanceTimersByTime(1);
    expect(fired).toBe(1);
  });

  it("does not fire after stop()", () => {
    vi.useFakeTimers({ now: 0 });
    let fired = 0;
    const m = new DeadlineMonitor({ onExpired: () => fired++ });
    m.refresh(0, 1_000, 0);
    m.stop();
    vi.advanceTimersByTime(5_000);
    expect(fired).toBe(0);
  });
});
