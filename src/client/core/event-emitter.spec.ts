import { EventEmitter as NodeEventEmitter, on, once } from "node:events";
import { describe, expect, it, vi } from "vitest";
import { EventEmitter } from "./event-emitter.js";

/** The emitter etcd-ts's live objects extend, and the one it stands in for: each case runs on both. */
const EMITTERS = [
  { name: "etcd-ts's", make: () => new EventEmitter() },
  { name: "node:events'", make: () => new NodeEventEmitter() },
] as const;

/** What a case records: the calls, in order. */
type Log = unknown[][];

describe.each(EMITTERS)("$name EventEmitter (the same rules on both)", ({ make }) => {
  it("calls listeners in the order added, with the emitter as this; emit says whether anyone listened", () => {
    const e = make();
    const log: Log = [];
    e.on("x", function (this: unknown, a: unknown) {
      log.push(["first", a, this === e]);
    });
    e.prependListener("x", (a: unknown) => log.push(["prepended", a]));
    e.addListener("x", (a: unknown, b: unknown) => log.push(["second", a, b]));
    expect(e.emit("x", 1, 2)).toBe(true);
    expect(e.emit("y")).toBe(false);
    expect(log).toEqual([
      ["prepended", 1],
      ["first", 1, true],
      ["second", 1, 2],
    ]);
    expect(e.listenerCount("x")).toBe(3);
    expect(e.eventNames()).toEqual(["x"]);
  });

  it("runs an emit on the list it started with: a listener removed or added meanwhile does not change it", () => {
    const e = make();
    const log: Log = [];
    const late = () => log.push(["late"]);
    const second = () => log.push(["second"]);
    e.on("x", () => {
      log.push(["first"]);
      e.off("x", second);
      e.on("x", late);
    });
    e.on("x", second);
    e.emit("x");
    e.emit("x");
    expect(log).toEqual([["first"], ["second"], ["first"], ["late"]]);
  });

  it("once: removed before it runs, removable by the listener given, listed unwrapped", () => {
    const e = make();
    const log: Log = [];
    const listener = (a: unknown) => log.push(["once", a, e.listenerCount("x")]);
    e.once("x", listener);
    expect(e.listeners("x")).toEqual([listener]);
    expect(e.rawListeners("x")[0]).not.toBe(listener);
    expect(e.listenerCount("x", listener)).toBe(1);
    e.emit("x", 1);
    e.emit("x", 2);
    expect(log).toEqual([["once", 1, 0]]);
    e.prependOnceListener("x", listener);
    e.removeListener("x", listener);
    expect(e.emit("x", 3)).toBe(false);
  });

  it("removes the most recently added copy of a listener", () => {
    const e = make();
    const log: Log = [];
    const a = () => log.push(["a"]);
    const b = () => log.push(["b"]);
    e.on("x", a);
    e.on("x", b);
    e.on("x", a);
    e.removeListener("x", a);
    e.emit("x");
    expect(log).toEqual([["a"], ["b"]]);
  });

  it("emits newListener before adding and removeListener after removing, with the listener the user gave", () => {
    const e = make();
    const log: Log = [];
    const listener = () => {};
    e.on("newListener", (name: string, l: unknown) =>
      log.push(["new", name, l === listener, e.listenerCount(name)]),
    );
    e.on("removeListener", (name: string, l: unknown) =>
      log.push(["removed", name, l === listener, e.listenerCount(name)]),
    );
    e.once("x", listener);
    e.off("x", listener);
    expect(log).toEqual([
      ["new", "removeListener", false, 0],
      ["new", "x", true, 0],
      ["removed", "x", true, 0],
    ]);
  });

  it("removeAllListeners: of one event, or of all, reporting each removal", () => {
    const e = make();
    const removed: unknown[] = [];
    e.on("x", () => {});
    e.on("x", () => {});
    e.on("y", () => {});
    e.on("removeListener", (name: string) => removed.push(name));
    e.removeAllListeners("x");
    expect(e.listenerCount("x")).toBe(0);
    expect(e.listenerCount("y")).toBe(1);
    e.removeAllListeners();
    expect(e.eventNames()).toEqual([]);
    expect(removed).toEqual(["x", "x", "y"]);
  });

  it("throws an error event nobody listens to, and hands it to a listener otherwise", () => {
    const e = make();
    const error = new Error("boom");
    expect(() => e.emit("error", error)).toThrow(error);
    expect(() => e.emit("error", "text")).toThrow(/Unhandled error/);
    const seen: unknown[] = [];
    e.on("error", (err: unknown) => seen.push(err));
    expect(e.emit("error", error)).toBe(true);
    expect(seen).toEqual([error]);
  });

  it("warns once per event beyond getMaxListeners() (10 unless set; 0 for no limit)", () => {
    const warn = vi.spyOn(process, "emitWarning").mockImplementation(() => {});
    try {
      const e = make();
      expect(e.getMaxListeners()).toBe(10);
      for (let i = 0; i < 12; i++) e.on("x", () => {});
      expect(warn).toHaveBeenCalledTimes(1);
      const warning = warn.mock.calls[0]![0] as Error;
      expect(warning.name).toBe("MaxListenersExceededWarning");
      expect(warning.message).toContain("11 x listeners added");
      const quiet = make().setMaxListeners(0);
      for (let i = 0; i < 12; i++) quiet.on("x", () => {});
      expect(warn).toHaveBeenCalledTimes(1);
      expect(() => make().setMaxListeners(-1)).toThrow(RangeError);
    } finally {
      warn.mockRestore();
    }
  });

  it("refuses a listener that is not a function", () => {
    expect(() => make().on("x", "not a function" as never)).toThrow(TypeError);
    expect(() => make().once("x", undefined as never)).toThrow(TypeError);
  });

  it("works with node:events' once() and on() helpers", async () => {
    const e = make();
    queueMicrotask(() => e.emit("ready", 1, 2));
    expect(await once(e, "ready")).toEqual([1, 2]);
    const error = new Error("failed");
    queueMicrotask(() => e.emit("error", error));
    await expect(once(e, "ready")).rejects.toBe(error);
    expect(e.listenerCount("ready")).toBe(0);
    expect(e.listenerCount("error")).toBe(0);
    const seen: unknown[] = [];
    queueMicrotask(() => {
      e.emit("tick", "a");
      e.emit("tick", "b");
    });
    for await (const [value] of on(e, "tick")) {
      seen.push(value);
      if (seen.length === 2) break;
    }
    expect(seen).toEqual(["a", "b"]);
    expect(e.listenerCount("tick")).toBe(0);
  });
});
