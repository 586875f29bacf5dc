import { describe, expect, it } from "vitest";
import { ProcessHold } from "./process-hold.js";

const timers = () => process.getActiveResourcesInfo().filter((r) => r === "Timeout").length;

describe("ProcessHold", () => {
  it("holds one ref'd timer while any hold is out, and none after the last release", () => {
    const before = timers();
    const hold = new ProcessHold();
    const a = hold.acquire();
    const b = hold.acquire();
    expect(hold.count).toBe(2);
    expect(timers()).toBe(before + 1);
    a();
    a(); // a second release of the same hold does nothing
    expect(hold.count).toBe(1);
    expect(timers()).toBe(before + 1);
    b();
    expect(hold.count).toBe(0);
    expect(timers()).toBe(before);
  });
});
