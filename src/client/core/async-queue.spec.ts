import { describe, expect, it } from "vitest";
import { AsyncQueue } from "./async-queue.js";

/** A queue that records its `filled`/`drained` calls and weighs a value by itself. */
class Recorded extends AsyncQueue<number> {
  readonly calls: string[] = [];
  protected override weigh(value: number): number {
    return value;
  }
  protected override filled(): void {
    this.calls.push("filled");
  }
  protected override drained(): void {
    this.calls.push("drained");
  }
}

describe("AsyncQueue", () => {
  it("hands values out in order, then the end", async () => {
    const q = new AsyncQueue<string>();
    q.push("a");
    q.push("b");
    q.end();
    expect(await q.next()).toEqual({ done: false, value: "a" });
    expect(await q.next()).toEqual({ done: false, value: "b" });
    expect(await q.next()).toEqual({ done: true, value: undefined });
    expect(q.push("c")).toBe(false);
    expect(await q.next()).toEqual({ done: true, value: undefined });
  });

  it("gives the producer's error after the buffered values, once", async () => {
    const q = new AsyncQueue<number>();
    q.push(1);
    q.end(new Error("boom"));
    expect(await q.next()).toEqual({ done: false, value: 1 });
    await expect(q.next()).rejects.toThrow("boom");
    expect(await q.next()).toEqual({ done: true, value: undefined });
  });

  it("wakes a waiting reader on push; readers waiting at once are served in order", async () => {
    const q = new AsyncQueue<number>();
    const first = q.next();
    const second = q.next();
    expect(q.waiting).toBe(true);
    q.push(1);
    q.push(2);
    expect(await first).toEqual({ done: false, value: 1 });
    expect(await second).toEqual({ done: false, value: 2 });
  });

  it("ends every waiting reader: the first gets the error, the others done", async () => {
    const q = new AsyncQueue<number>();
    const first = q.next();
    const second = q.next();
    q.end(new Error("gone"));
    await expect(first).rejects.toThrow("gone");
    expect(await second).toEqual({ done: true, value: undefined });
  });

  it("stop drops the buffer and the error, and ends a waiting reader", async () => {
    const q = new AsyncQueue<number>();
    const waiting = q.next();
    q.stop();
    expect(await waiting).toEqual({ done: true, value: undefined });
    const ended = new AsyncQueue<number>();
    ended.push(1);
    ended.end(new Error("dropped"));
    ended.stop();
    expect(ended.length).toBe(0);
    expect(await ended.next()).toEqual({ done: true, value: undefined });
  });

  it("reports the weight over the high-water mark once per crossing, and the fall to the low one", () => {
    const q = new Recorded(4, 1);
    expect(q.push(3)).toBe(true);
    expect(q.push(2)).toBe(false);
    expect(q.push(1)).toBe(false);
    expect(q.calls).toEqual(["filled"]);
    expect(q.weight).toBe(6);
    q.take();
    expect(q.calls).toEqual(["filled"]);
    q.take();
    expect(q.calls).toEqual(["filled", "drained"]);
    expect(q.push(3)).toBe(true);
    expect(q.push(1)).toBe(false);
    expect(q.calls).toEqual(["filled", "drained", "filled"]);
  });

  it("never takes a value inside push: a woken reader takes it on its own turn", async () => {
    const q = new Recorded(0, 0);
    const reading = q.next();
    expect(q.push(5)).toBe(false);
    // The producer has its answer (and may pause) before the reader drains the queue.
    expect(q.calls).toEqual(["filled"]);
    expect(await reading).toEqual({ done: false, value: 5 });
    expect(q.calls).toEqual(["filled", "drained"]);
  });
});
