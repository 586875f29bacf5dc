import { getEventListeners } from "node:events";
import { describe, expect, it } from "vitest";
import type { WatchBatch } from "./types.js";
import { Watcher, type WatcherOwner } from "./watcher.js";

/** A hub stand-in that records what the watcher asks of it (the real hub is covered in test/watch). */
class RecordingOwner implements WatcherOwner {
  detached = 0;
  resumed = 0;
  detach(watcher: Watcher): void {
    this.detached++;
    watcher._end();
  }
  resume(): void {
    this.resumed++;
  }
}

const batch = (revision: number, events = 1): WatchBatch => ({
  revision: BigInt(revision),
  events: Array.from({ length: events }, () => ({}) as WatchBatch["events"][number]),
});

function watcher(bound = 100) {
  const owner = new RecordingOwner();
  const w = new Watcher(owner, { bytes: new Uint8Array([1]), split: 1 }, {}, bound, undefined);
  return { owner, w };
}

const tick = () => new Promise((r) => setTimeout(r, 0));

describe("Watcher", () => {
  it("emits buffered and later batches in order, never inside on(), then close after close()", async () => {
    const { w } = watcher();
    w._deliver(batch(1));
    const got: bigint[] = [];
    const order: string[] = [];
    w.on("close", (e) => order.push(`close:${e}`));
    w.on("batch", (b) => got.push(b.revision));
    expect(got).toEqual([]);
    await tick();
    w._deliver(batch(2));
    w._deliver(batch(3));
    await w.close();
    await tick();
    expect(got).toEqual([1n, 2n, 3n]);
    expect(order).toEqual(["close:undefined"]);
    expect(w.signal.aborted).toBe(true);
    expect(w.signal.reason.name).toBe("ClosedError");
    expect(await w.closed).toBeUndefined();
    expect(w.bufferedEvents).toBe(0);
  });

  it("emits close with the error after the last batch; closed and signal carry it", async () => {
    const { w } = watcher();
    const seen: string[] = [];
    const signal = w.signal;
    w.on("close", (e) => seen.push(`close:${e?.message}`));
    w.on("batch", () => seen.push("batch"));
    w._deliver(batch(1));
    w._end(new Error("compacted"));
    await tick();
    expect(seen).toEqual(["batch", "close:compacted"]);
    expect((await w.closed)?.message).toBe("compacted");
    expect(signal.reason.message).toBe("compacted");
  });

  it("a throwing batch listener stops the watch (detached, buffer dropped) and is reported", async () => {
    const { owner, w } = watcher();
    const seen: string[] = [];
    w.on("batch", () => {
      throw new Error("boom");
    });
    w.on("close", (e) => seen.push(`close:${e?.message}`));
    w._deliver(batch(1));
    w._deliver(batch(2));
    await tick();
    expect(seen).toEqual(["close:boom"]);
    expect(owner.detached).toBe(1);
    expect(w.state).toBe("closed");
    expect(w.bufferedEvents).toBe(0);
    expect((await w.closed)?.message).toBe("boom");
  });

  it("reports over the bound and asks for a resume once drained to half (event face)", async () => {
    const { owner, w } = watcher(4);
    expect(w._deliver(batch(1, 3))).toBe(true);
    expect(w._deliver(batch(2, 2))).toBe(false);
    expect(w.bufferedEvents).toBe(5);
    w.on("batch", () => {});
    await tick();
    expect(owner.resumed).toBe(1);
    expect(w.bufferedEvents).toBe(0);
  });

  it("for await: drains, resumes at half, and ends after buffered batches", async () => {
    const { owner, w } = watcher(2);
    w._deliver(batch(1, 2));
    expect(w._deliver(batch(2, 1))).toBe(false);
    const got: bigint[] = [];
    const done = (async () => {
      for await (const b of w) {
        got.push(b.revision);
        if (b.revision === 2n) void w.close();
      }
    })();
    await done;
    expect(got).toEqual([1n, 2n]);
    expect(owner.resumed).toBe(1);
    expect(await w.closed).toBeUndefined();
  });

  it("break out of for await detaches the watch", async () => {
    const { owner, w } = watcher();
    w._deliver(batch(1));
    w._deliver(batch(2));
    for await (const _ of w) break;
    expect(owner.detached).toBe(1);
    expect(w.state).toBe("closed");
    expect(w.bufferedEvents).toBe(0);
  });

  it("keeps to one face", async () => {
    const { w } = watcher();
    w.on("batch", () => {});
    expect(() => w[Symbol.asyncIterator]()).toThrow(/use one face/);
    const { w: w2 } = watcher();
    const it2 = w2[Symbol.asyncIterator]();
    const first = it2.next();
    w2._deliver(batch(7));
    expect((await first).value?.revision).toBe(7n);
    expect(() => w2.on("batch", () => {})).toThrow(/already being iterated/);
    expect(w2.listenerCount("batch")).toBe(0);
  });

  it("closed resolves even when first asked for after the end", async () => {
    const { w } = watcher();
    w._end(new Error("late"));
    expect((await w.closed)?.message).toBe("late");
    expect(w.closed).toBe(w.closed);
  });

  it("closes on its signal and lets go of the signal when it ends", async () => {
    const { owner, w } = watcher();
    const aborter = new AbortController();
    w._closeOn(aborter.signal);
    aborter.abort();
    expect(owner.detached).toBe(1);
    expect(getEventListeners(aborter.signal, "abort")).toHaveLength(0);
    const { w: w2 } = watcher();
    const signal = new AbortController();
    w2._closeOn(signal.signal);
    expect(getEventListeners(signal.signal, "abort")).toHaveLength(1);
    await w2.close();
    // A long-lived signal shared by many short watches must not keep every closed one alive.
    expect(getEventListeners(signal.signal, "abort")).toHaveLength(0);
  });
});
