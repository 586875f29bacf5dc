import { describe, expect, it } from "vitest";
import { parseDuration } from "./duration.js";
import { UsageError } from "./usage-error.js";

describe("parseDuration", () => {
  it.each([
    ["2s", 2_000],
    ["500ms", 500],
    ["1m30s", 90_000],
    ["1.5s", 1_500],
    ["1h", 3_600_000],
    ["250us", 1],
  ])("%s is %i ms", (text, ms) => {
    expect(parseDuration(text, "--dial-timeout")).toBe(ms);
  });

  it.each(["5", "", "0s", "-1s", "5 s", "5sec", "s"])("refuses %j, naming the flag", (text) => {
    expect(() => parseDuration(text, "ETCDCTL_DIAL_TIMEOUT")).toThrow(UsageError);
    expect(() => parseDuration(text, "ETCDCTL_DIAL_TIMEOUT")).toThrow(/^ETCDCTL_DIAL_TIMEOUT: /);
  });
});
