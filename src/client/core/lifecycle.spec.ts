import { describe, expect, it } from "vitest";
import { ClosedError } from "./errors.js";
import { EventEmitter } from "./event-emitter.js";
import { Lifecycle } from "./lifecycle.js";

const tick = () => new Promise((r) => setTimeout(r, 0));

describe("Lifecycle", () => {
  it("moves through states with state events from a microtask, then ends once", async () => {
    const emitter = new EventEmitter();
    const life = new Lifecycle<"a" | "b">(emitter, "thing", "a");
    const seen: unknown[] = [];
    emitter.on("state", (s) => seen.push(s));
    emitter.on("close", (e) => seen.push(`close:${e}`));
    life.set("b");
    life.set("b");
    expect(seen).toEqual([]);
    expect(life.end()).toBe(true);
    expect(life.end(new Error("late"))).toBe(false);
    life.set("a");
    expect(life.state).toBe("closed");
    await tick();
    expect(seen).toEqual(["b", "closed", "close:undefined"]);
    expect(await life.closed).toBeUndefined();
    expect(life.signal.reason).toBeInstanceOf(ClosedError);
    expect(life.signal.reason.message).toBe("the thing was closed");
  });

  it("an end with an error: closed resolves with it, signal aborts with it, onEnd listeners run once", async () => {
    const life = new Lifecycle<"open">(new EventEmitter(), "thing", "open");
    const closed = life.closed;
    const signal = life.signal;
    const ends: unknown[] = [];
    life.onEnd((e) => ends.push(e));
    const remove = life.onEnd((e) => ends.push(`removed ${e}`));
    remove();
    const error = new Error("lost");
    life.end(error);
    expect(ends).toEqual([error]);
    expect(await closed).toBe(error);
    expect(signal.reason).toBe(error);
    expect(life.error).toBe(error);
    const late: unknown[] = [];
    life.onEnd((e) => late.push(e));
    expect(late).toEqual([error]);
  });
});
