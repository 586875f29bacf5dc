import { afterEach, beforeEach, describe, expect, it, type MockInstance, vi } from "vitest";
import { DeadlineQueue, type DeadlineTarget } from "./deadline-queue.js";

/** A target that records, into `log`, its name and the fake clock's time when it fired. */
function target(log: Array<[string, number]>, name: string): DeadlineTarget {
  return { onDeadline: () => log.push([name, performance.now()]) };
}

function names(log: Array<[string, number]>): string[] {
  return log.map(([name]) => name);
}

describe("DeadlineQueue (fake timers)", () => {
  let queue: DeadlineQueue;
  let log: Array<[string, number]>;
  let setTimeoutSpy: MockInstance<typeof setTimeout>;

  beforeEach(() => {
    vi.useFakeTimers();
    setTimeoutSpy = vi.spyOn(globalThis, "setTimeout");
    queue = new DeadlineQueue();
    log = [];
  });

  afterEach(() => {
    queue.close();
    vi.restoreAllMocks();
    vi.useRealTimers();
  });

  it("fires deadlines in time order, not in the order they were added", () => {
    const start = performance.now();
    queue.add(target(log, "c"), 30);
    queue.add(target(log, "a"), 10);
    queue.add(target(log, "b"), 20);
    vi.advanceTimersByTime(100);
    expect(log).toEqual([
      ["a", start + 10],
      ["b", start + 20],
      ["c", start + 30],
    ]);
    expect(queue.size).toBe(0);
  });

  it("fires entries with the same deadline together, in the order they were added", () => {
    for (const name of ["a", "b", "c", "d", "e"]) queue.add(target(log, name), 25);
    vi.advanceTimersByTime(24);
    expect(log).toEqual([]);
    vi.advanceTimersByTime(1);
    expect(names(log)).toEqual(["a", "b", "c", "d", "e"]);
    expect(new Set(log.map(([, at]) => at)).size).toBe(1);
  });

  it("never fires a deadline early", () => {
    queue.add(target(log, "a"), 50);
    queue.add(target(log, "b"), 0.3);
    vi.advanceTimersByTime(0);
    expect(log).toEqual([]); // a fractional deadline rounds up to the next millisecond, not down to 0
    vi.advanceTimersByTime(1);
    expect(names(log)).toEqual(["b"]);
    vi.advanceTimersByTime(48);
    expect(names(log)).toEqual(["b"]);
    vi.advanceTimersByTime(1);
    expect(names(log)).toEqual(["b", "a"]);
    // Whole milliseconds, at least 1: no wake-up before the deadline just to find nothing due.
    for (const call of setTimeoutSpy.mock.calls) {
      expect(Number.isInteger(call[1])).toBe(true);
      expect(call[1]).toBeGreaterThanOrEqual(1);
    }
  });

  it("treats a negative or NaN deadline as due now, fired from the timer, not synchronously", () => {
    queue.add(target(log, "nan"), Number.NaN);
    queue.add(target(log, "negative"), -5);
    expect(log).toEqual([]);
    vi.advanceTimersByTime(1);
    expect(names(log)).toEqual(["nan", "negative"]);
  });

  it("does not call a removed target, and removing twice or after firing is a no-op", () => {
    const a = queue.add(target(log, "a"), 10);
    const b = queue.add(target(log, "b"), 20);
    queue.remove(a);
    queue.remove(a);
    expect(queue.size).toBe(1);
    vi.advanceTimersByTime(30);
    expect(names(log)).toEqual(["b"]);
    queue.remove(b);
    expect(queue.size).toBe(0);
  });

  it("keeps the others on time when the current earliest is removed, without re-arming", () => {
    const start = performance.now();
    const a = queue.add(target(log, "a"), 10);
    queue.add(target(log, "b"), 20);
    queue.add(target(log, "c"), 30);
    expect(setTimeoutSpy).toHaveBeenCalledTimes(1);
    queue.remove(a);
    expect(setTimeoutSpy).toHaveBeenCalledTimes(1);
    expect(vi.getTimerCount()).toBe(1);
    vi.advanceTimersByTime(10); // the timer armed for "a" finds nothing due and re-arms for "b"
    expect(log).toEqual([]);
    expect(vi.getTimerCount()).toBe(1);
    vi.advanceTimersByTime(20);
    expect(log).toEqual([
      ["b", start + 20],
      ["c", start + 30],
    ]);
  });

  it("arms one timer for deadlines that arrive in increasing order", () => {
    for (let i = 1; i <= 100; i++) queue.add(target(log, `${i}`), 1000 + i);
    expect(setTimeoutSpy).toHaveBeenCalledTimes(1);
    expect(vi.getTimerCount()).toBe(1);
    vi.advanceTimersByTime(1100);
    expect(log).toHaveLength(100);
    expect(names(log)).toEqual(Array.from({ length: 100 }, (_, i) => `${i + 1}`));
  });

  it("re-arms sooner when a new deadline is earlier than the armed one, still with one timer", () => {
    const start = performance.now();
    queue.add(target(log, "late"), 1000);
    queue.add(target(log, "early"), 10);
    expect(setTimeoutSpy).toHaveBeenCalledTimes(2);
    expect(vi.getTimerCount()).toBe(1);
    vi.advanceTimersByTime(10);
    expect(log).toEqual([["early", start + 10]]);
    vi.advanceTimersByTime(990);
    expect(log).toEqual([
      ["early", start + 10],
      ["late", start + 1000],
    ]);
    expect(vi.getTimerCount()).toBe(0);
  });

  it("leaves nothing behind after 10k adds and removes: size 0, at most one timer, which then disarms", () => {
    const handles = Array.from({ length: 10_000 }, (_, i) =>
      queue.add(target(log, `${i}`), 10_000 + (i % 7)),
    );
    expect(setTimeoutSpy).toHaveBeenCalledTimes(1);
    // Remove in a scrambled order (a stride coprime with 10k), so entries leave from all over the heap.
    for (let k = 0; k < handles.length; k++) queue.remove(handles[(k * 7919) % handles.length]!);
    expect(queue.size).toBe(0);
    expect(vi.getTimerCount()).toBeLessThanOrEqual(1);
    vi.advanceTimersByTime(20_000);
    expect(log).toEqual([]);
    expect(vi.getTimerCount()).toBe(0);
    expect(setTimeoutSpy).toHaveBeenCalledTimes(1);
  });

  it("fires exactly the entries left, in order, after random adds and removes", () => {
    // A seeded generator: the test is the same every run.
    let seed = 12345;
    const random = () => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed / 2 ** 31;
    };
    const added = Array.from({ length: 2000 }, (_, i) => {
      const ms = 1 + Math.floor(random() * 500);
      return { name: `${i}`, ms, handle: queue.add(target(log, `${i}`), ms) };
    });
    // Removing entries from all over the heap moves its last entry up or down into their place.
    const kept: Array<{ name: string; ms: number }> = [];
    for (const entry of added) {
      if (random() < 0.5) queue.remove(entry.handle);
      else kept.push(entry);
    }
    expect(queue.size).toBe(kept.length);
    vi.advanceTimersByTime(1000);
    // Same-time entries fire in the order they were added: a stable sort of what was kept.
    const expected = [...kept].sort((x, y) => x.ms - y.ms).map((k) => k.name);
    expect(names(log)).toEqual(expected);
    expect(queue.size).toBe(0);
  });

  it("uses an unref'd timer, so a pending deadline does not keep the process alive", () => {
    queue.add(target(log, "a"), 10);
    const timer = setTimeoutSpy.mock.results[0]!.value as NodeJS.Timeout;
    expect(timer.hasRef()).toBe(false);
  });

  it("close() clears the timer, drops every deadline and makes later adds inert", () => {
    queue.add(target(log, "a"), 10);
    queue.add(target(log, "b"), 20);
    queue.close();
    expect(vi.getTimerCount()).toBe(0);
    expect(queue.size).toBe(0);
    const late = queue.add(target(log, "late"), 5);
    expect(vi.getTimerCount()).toBe(0);
    queue.remove(late);
    vi.advanceTimersByTime(100);
    expect(log).toEqual([]);
  });

  it("lets a firing target remove, add and close safely", () => {
    const start = performance.now();
    let second: ReturnType<DeadlineQueue["add"]> | undefined;
    queue.add(
      {
        onDeadline: () => {
          log.push(["first", performance.now()]);
          queue.remove(second!); // due at the same time, but removed: must not fire
          queue.add(target(log, "added"), 5);
        },
      },
      10,
    );
    second = queue.add(target(log, "second"), 10);
    queue.add({ onDeadline: () => queue.close() }, 40);
    queue.add(target(log, "never"), 50);
    vi.advanceTimersByTime(100);
    expect(log).toEqual([
      ["first", start + 10],
      ["added", start + 15],
    ]);
    expect(vi.getTimerCount()).toBe(0);
  });

  it("keeps an earlier deadline on time when a firing target adds a later one", () => {
    const start = performance.now();
    queue.add(
      {
        onDeadline: () => {
          log.push(["a", performance.now()]);
          queue.add(target(log, "c"), 50);
        },
      },
      10,
    );
    queue.add(target(log, "b"), 20);
    vi.advanceTimersByTime(100);
    expect(log).toEqual([
      ["a", start + 10],
      ["b", start + 20],
      ["c", start + 60],
    ]);
  });

  it("caps the timer delay at Node's limit, so a huge deadline neither fires nor overflows", () => {
    queue.add(target(log, "forever"), Number.POSITIVE_INFINITY);
    queue.add(target(log, "year"), 365 * 24 * 3600_000);
    for (const call of setTimeoutSpy.mock.calls) expect(call[1]).toBeLessThanOrEqual(2_147_483_647);
    vi.advanceTimersByTime(2_147_483_647);
    expect(log).toEqual([]);
    expect(vi.getTimerCount()).toBe(1);
  });
});

describe("DeadlineQueue (timer that Node fires before the deadline)", () => {
  afterEach(() => {
    vi.restoreAllMocks();
    vi.useRealTimers();
  });

  it("re-arms for the rest instead of firing early", () => {
    // Node measures timers against a loop time cached at the start of the event-loop turn, so a timer
    // can fire slightly before `performance.now()` reaches the deadline. Simulate that: the clock the
    // queue reads lags behind the fake timers.
    vi.useFakeTimers({ toFake: ["setTimeout", "clearTimeout"] });
    let now = 1000;
    vi.spyOn(performance, "now").mockImplementation(() => now);
    const queue = new DeadlineQueue();
    const log: Array<[string, number]> = [];
    queue.add(target(log, "a"), 50);
    now = 1049.5;
    vi.advanceTimersByTime(50);
    expect(log).toEqual([]);
    expect(vi.getTimerCount()).toBe(1);
    now = 1050;
    vi.advanceTimersByTime(1);
    expect(log).toEqual([["a", 1050]]);
    queue.close();
  });
});

describe("DeadlineQueue (real timers)", () => {
  it("fires no earlier than asked, and its timer does not count as an active handle", async () => {
    const queue = new DeadlineQueue();
    const timeouts = () => process.getActiveResourcesInfo().filter((r) => r === "Timeout").length;
    const before = timeouts();
    const start = performance.now();
    const fired = new Promise<number>((resolve) =>
      queue.add({ onDeadline: () => resolve(performance.now()) }, 50),
    );
    expect(timeouts()).toBe(before);
    // Keep the process alive meanwhile with a ref'd wait (the queue's own timer is unref'd); it only
    // catches a deadline that never fires. How late it fires depends on the machine: not asserted.
    let guard: NodeJS.Timeout | undefined;
    const at = await Promise.race([
      fired,
      new Promise<never>((_, reject) => {
        guard = setTimeout(() => reject(new Error("the 50 ms deadline never fired")), 20_000);
      }),
    ]).finally(() => clearTimeout(guard));
    expect(at - start).toBeGreaterThanOrEqual(50);
    queue.close();
  });
});
