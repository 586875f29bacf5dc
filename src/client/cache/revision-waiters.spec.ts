import { describe, expect, it } from "vitest";
import { RevisionWaiters } from "./revision-waiters.js";

describe("RevisionWaiters", () => {
  it("resolves callers in revision order, each with the revision reached", async () => {
    const w = new RevisionWaiters();
    const settled: string[] = [];
    const track = (name: string, p: Promise<bigint>) =>
      p.then(
        (r) => settled.push(`${name}:${r}`),
        (e: Error) => settled.push(`${name}:${e.message}`),
      );
    const all = [track("c", w.wait(9n)), track("a", w.wait(3n)), track("b", w.wait(5n))];
    w.reached(2n);
    w.reached(5n);
    await Promise.resolve();
    await Promise.resolve();
    expect(settled.sort()).toEqual(["a:5", "b:5"]);
    expect(w.size).toBe(1);
    w.fail(new Error("closed"));
    await Promise.all(all);
    expect(settled.sort()).toEqual(["a:5", "b:5", "c:closed"]);
    expect(w.size).toBe(0);
  });

  it("forgets a caller whose signal aborts, with the signal's reason", async () => {
    const w = new RevisionWaiters();
    const controller = new AbortController();
    const waiting = w.wait(4n, controller.signal);
    controller.abort(new Error("gave up"));
    await expect(waiting).rejects.toThrow("gave up");
    expect(w.size).toBe(0);
    await expect(w.wait(1n, controller.signal)).rejects.toThrow("gave up");
  });
});
