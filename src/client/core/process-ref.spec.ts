import { describe, expect, it } from "vitest";
import { ProcessRef } from "./process-ref.js";

const timers = () => process.getActiveResourcesInfo().filter((r) => r === "Timeout").length;

describe("ProcessRef", () => {
  it("holds one ref'd timer while any reference is out, and none after the last release", () => {
    const before = timers();
    const ref = new ProcessRef();
    const a = ref.acquire();
    const b = ref.acquire();
    expect(ref.count).toBe(2);
    expect(timers()).toBe(before + 1);
    a();
    a(); // a second release of the same reference does nothing
    expect(ref.count).toBe(1);
    expect(timers()).toBe(before + 1);
    b();
    expect(ref.count).toBe(0);
    expect(timers()).toBe(before);
  });
});
