import { describe, expect, it } from "vitest";
import { StreamSlots } from "./stream-slots.js";

describe("StreamSlots", () => {
  it("queues above the limit and starts waiters in order as slots free up", () => {
    let limit = 2;
    const slots = new StreamSlots(() => limit);
    const started: string[] = [];
    const waiter = (name: string) => ({ onSlot: () => started.push(name) });
    expect(slots.tryAcquire()).toBe(true);
    expect(slots.tryAcquire()).toBe(true);
    expect(slots.tryAcquire()).toBe(false);
    const a = waiter("a");
    const b = waiter("b");
    const c = waiter("c");
    slots.enqueue(a);
    slots.enqueue(b);
    slots.enqueue(c);
    expect(slots.remove(b)).toBe(true);
    expect(slots.remove(b)).toBe(false);
    slots.release();
    expect(started).toEqual(["a"]);
    limit = 3;
    slots.pump();
    expect(started).toEqual(["a", "c"]);
    expect(slots.active).toBe(3);
    expect(slots.waiting).toBe(0);
  });

  it("lets no call jump the queue while others wait", () => {
    const slots = new StreamSlots(() => 1);
    expect(slots.tryAcquire()).toBe(true);
    slots.enqueue({ onSlot: () => {} });
    slots.release();
    expect(slots.active).toBe(1);
    expect(slots.tryAcquire()).toBe(false);
  });

  it("hands drained waiters a slot each, so their release keeps the count balanced", () => {
    const slots = new StreamSlots(() => 1);
    expect(slots.tryAcquire()).toBe(true);
    const waiters = [{ onSlot: () => slots.release() }, { onSlot: () => slots.release() }];
    for (const w of waiters) slots.enqueue(w);
    const drained = slots.drain();
    expect(drained).toEqual(waiters);
    for (const w of drained) w.onSlot();
    expect(slots.active).toBe(1);
    expect(slots.waiting).toBe(0);
  });
});
