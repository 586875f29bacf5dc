import { describe, expect, it } from "vitest";
import { QueuedIterator } from "./queued-iterator.js";

describe("QueuedIterator", () => {
  it("delivers pushed values in order, then ends", async () => {
    const q = new QueuedIterator<number>();
    q.push(1);
    q.push(2);
    setTimeout(() => {
      q.push(3);
      q.end();
    }, 5);
    const seen: number[] = [];
    for await (const v of q) seen.push(v);
    expect(seen).toEqual([1, 2, 3]);
    expect(await q.closed).toBeUndefined();
  });

  it("takeBuffered hands over what is buffered behind the iterator, in order, and the end still comes through it", async () => {
    let drained = 0;
    const q = new QueuedIterator<number>({ highWaterMark: 2, onDrain: () => drained++ });
    const it = q[Symbol.asyncIterator]();
    expect(q.takeBuffered()).toBeUndefined();
    q.push(1);
    q.push(2);
    q.push(3);
    expect(await it.next()).toEqual({ value: 1, done: false });
    expect(q.takeBuffered()).toBe(2);
    expect(drained).toBe(0);
    expect(q.takeBuffered()).toBe(3);
    expect(drained).toBe(1);
    expect(q.takeBuffered()).toBeUndefined();
    q.push(4);
    q.end();
    expect(await it.next()).toEqual({ value: 4, done: false });
    expect(await it.next()).toEqual({ value: undefined, done: true });
    expect(q.takeBuffered()).toBeUndefined();
  });

  it("takeBuffered gives nothing once the consumer stopped", () => {
    const q = new QueuedIterator<number>();
    q.push(1);
    q.stop();
    expect(q.takeBuffered()).toBeUndefined();
  });

  it("drains the buffer before throwing the end error", async () => {
    const q = new QueuedIterator<number>();
    q.push(1);
    q.end(new Error("boom"));
    const seen: number[] = [];
    await expect(
      (async () => {
        for await (const v of q) seen.push(v);
      })(),
    ).rejects.toThrow("boom");
    expect(seen).toEqual([1]);
    expect((await q.closed)?.message).toBe("boom");
  });

  it("reports the high-water mark and fires onDrain at the low-water mark", async () => {
    let drained = 0;
    const q = new QueuedIterator<number[]>({
      weigh: (v) => v.length,
      highWaterMark: 3,
      lowWaterMark: 1,
      onDrain: () => drained++,
    });
    expect(q.push([1, 2])).toBe(true);
    expect(q.push([3, 4])).toBe(false);
    expect(q.weight).toBe(4);
    const it = q[Symbol.asyncIterator]();
    await it.next();
    expect(drained).toBe(0);
    await it.next();
    expect(drained).toBe(1);
    expect(q.weight).toBe(0);
  });

  it("calls onStop when the consumer breaks out", async () => {
    let stopped = 0;
    const q = new QueuedIterator<number>({ onStop: () => stopped++ });
    q.push(1);
    q.push(2);
    for await (const _ of q) break;
    expect(stopped).toBe(1);
    expect(q.push(3)).toBe(false);
    expect(q.length).toBe(0);
  });

  it("ends a waiting consumer on stop()", async () => {
    const q = new QueuedIterator<number>();
    const done = (async () => {
      for await (const _ of q) {
        /* nothing */
      }
      return "done";
    })();
    setTimeout(() => q.stop(), 5);
    expect(await done).toBe("done");
  });
});
