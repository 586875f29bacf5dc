import { describe, expect, it } from "vitest";
import { EndpointList } from "./endpoints.js";

const ep = (port: number) => ({ url: `http://127.0.0.1:${port}`, secure: false, tls: undefined });

describe("EndpointList", () => {
  it("stays on the pinned endpoint until it fails, then moves to the next healthy one", () => {
    let now = 1000;
    const list = new EndpointList([ep(1), ep(2), ep(3)], 500, () => now);
    expect(list.current().url).toBe(ep(1).url);
    expect(list.current().url).toBe(ep(1).url);
    list.markFailed(ep(1).url);
    expect(list.current().url).toBe(ep(2).url);
    list.markFailed(ep(2).url);
    expect(list.current().url).toBe(ep(3).url);
    list.markFailed(ep(3).url);
    // All failed: the one whose cooldown ends first.
    now += 1;
    expect(list.current().url).toBe(ep(1).url);
    now += 600;
    expect(list.isFailed(ep(1).url)).toBe(false);
    expect(list.current().url).toBe(ep(1).url);
  });
  it("skips endpoints in cooldown", () => {
    const now = 0;
    const list = new EndpointList([ep(1), ep(2), ep(3)], 500, () => now);
    list.markFailed(ep(2).url);
    list.markFailed(ep(1).url);
    expect(list.current().url).toBe(ep(3).url);
  });
  it("keeps the pin across replace() when the URL survives", () => {
    const list = new EndpointList([ep(1), ep(2)], 500);
    list.markFailed(ep(1).url);
    expect(list.current().url).toBe(ep(2).url);
    list.replace([ep(3), ep(2)]);
    expect(list.current().url).toBe(ep(2).url);
    expect(list.all.map((e) => e.url)).toEqual([ep(3).url, ep(2).url]);
  });
});
