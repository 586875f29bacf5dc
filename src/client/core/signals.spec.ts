import { describe, expect, it } from "vitest";
import { anySignal, sleep } from "./signals.js";

describe("anySignal", () => {
  it("aborts with the reason of the first source to abort, and lets go of the others", () => {
    const a = new AbortController();
    const b = new AbortController();
    const { signal } = anySignal([a.signal, undefined, b.signal], 60_000);
    b.abort("b's reason");
    expect(signal.aborted).toBe(true);
    expect(signal.reason).toBe("b's reason");
    a.abort("later");
    expect(signal.reason).toBe("b's reason");
  });

  it("is aborted at once by an aborted source", () => {
    const a = new AbortController();
    a.abort("already");
    expect(anySignal([a.signal], 10).signal.reason).toBe("already");
  });

  it("times out with a TimeoutError, even when a garbage collection runs before the deadline", async () => {
    const { signal } = anySignal([new AbortController().signal], 50);
    (globalThis as { gc?: () => void }).gc?.();
    await sleep(20);
    (globalThis as { gc?: () => void }).gc?.();
    await sleep(200);
    expect(signal.aborted).toBe(true);
    expect((signal.reason as DOMException).name).toBe("TimeoutError");
  });

  it("dispose() clears the timer: the signal never aborts", async () => {
    const { signal, dispose } = anySignal([], 20);
    dispose();
    await sleep(60);
    expect(signal.aborted).toBe(false);
  });
});

describe("sleep", () => {
  it("resolves at once for an aborted signal, and early when one aborts", async () => {
    await sleep(60_000, AbortSignal.abort());
    const c = new AbortController();
    const waiting = sleep(60_000, undefined, c.signal);
    c.abort();
    await waiting;
  });
});
