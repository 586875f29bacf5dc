import { describe, expect, test } from "vitest";
import { ResponseQueue } from "./response-queue.js";

function queue(highWaterMark = 4) {
  const pressure: boolean[] = [];
  let returned = 0;
  const q = new ResponseQueue<number>({
    highWaterMark,
    onPressure: (paused) => pressure.push(paused),
    onReturn: () => returned++,
  });
  return { q, pressure, returned: () => returned };
}

describe("ResponseQueue", () => {
  test("delivers pushed items in order, then ends", async () => {
    const { q } = queue();
    q.push(1);
    q.push(2);
    q.end();
    const seen: number[] = [];
    for await (const n of q) seen.push(n);
    expect(seen).toEqual([1, 2]);
  });

  test("a reader waiting for an item wakes up on push", async () => {
    const { q } = queue();
    const it = q[Symbol.asyncIterator]();
    const next = it.next();
    q.push(7);
    expect(await next).toEqual({ done: false, value: 7 });
  });

  test("an error comes after the items queued before it", async () => {
    const { q } = queue();
    q.push(1);
    q.end(new Error("boom"));
    const it = q[Symbol.asyncIterator]();
    expect(await it.next()).toEqual({ done: false, value: 1 });
    await expect(it.next()).rejects.toThrow("boom");
  });

  test("pauses the producer at the high-water mark and resumes at half", async () => {
    const { q, pressure } = queue(4);
    for (let i = 0; i < 4; i++) q.push(i);
    expect(pressure).toEqual([true]);
    const it = q[Symbol.asyncIterator]();
    await it.next();
    expect(pressure).toEqual([true]);
    await it.next();
    expect(pressure).toEqual([true, false]);
  });

  test("breaking out of the loop calls onReturn once; items after it are dropped", async () => {
    const { q, returned } = queue();
    q.push(1);
    q.push(2);
    for await (const _ of q) break;
    expect(returned()).toBe(1);
    q.push(3);
    q.end();
    expect(returned()).toBe(1);
  });

  test("can be iterated only once", () => {
    const { q } = queue();
    q[Symbol.asyncIterator]();
    expect(() => q[Symbol.asyncIterator]()).toThrow(/only once/);
  });
});
