import { describe, expect, test } from "vitest";
import { ServerVersion } from "./server-version.js";

const v = (text: string): ServerVersion => {
  const parsed = ServerVersion.parse(text);
  if (parsed === undefined) throw new Error(`did not parse ${text}`);
  return parsed;
};

describe("ServerVersion.parse", () => {
  test("reads what etcd's Status reports: releases, pre-releases, build metadata", () => {
    expect(v("3.7.4")).toMatchObject({ major: 3, minor: 7, patch: 4, preRelease: undefined, text: "3.7.4" });
    expect(v("3.6.0-rc.1")).toMatchObject({ major: 3, minor: 6, patch: 0, preRelease: "rc.1" });
    expect(v("3.5.36+git.abc")).toMatchObject({ major: 3, minor: 5, patch: 36, preRelease: undefined });
    expect(v("3.4.23").toString()).toBe("3.4.23");
  });

  test("anything else is unknown, not guessed", () => {
    for (const text of [
      "",
      "3.7",
      "v3.7.4",
      "3.7.x",
      " 3.7.4",
      "3.7.4-",
      "three",
      "3.7.4.1",
      "99999999999.0.0",
    ])
      expect(ServerVersion.parse(text), text).toBeUndefined();
  });
});

describe("ServerVersion ordering", () => {
  test("by major, minor, patch as numbers (3.10 after 3.9)", () => {
    expect(v("3.10.0").compare(v("3.9.9"))).toBeGreaterThan(0);
    expect(v("3.6.17").compare(v("3.7.0"))).toBeLessThan(0);
    expect(v("3.7.4").compare(v("3.7.4"))).toBe(0);
    expect(v("4.0.0").compare(v("3.99.99"))).toBeGreaterThan(0);
  });

  test("a pre-release is older than its release; pre-releases in semver order", () => {
    expect(v("3.7.0-rc.1").compare(v("3.7.0"))).toBeLessThan(0);
    expect(v("3.7.0").compare(v("3.7.0-rc.1"))).toBeGreaterThan(0);
    expect(v("3.7.0-alpha.0").compare(v("3.7.0-rc.0"))).toBeLessThan(0);
    expect(v("3.7.0-rc.2").compare(v("3.7.0-rc.10"))).toBeLessThan(0);
    expect(v("3.7.0-rc").compare(v("3.7.0-rc.1"))).toBeLessThan(0);
    expect(v("3.7.0-1").compare(v("3.7.0-alpha"))).toBeLessThan(0);
    expect(v("3.7.0-rc.1").compare(v("3.6.17"))).toBeGreaterThan(0);
    expect(v("3.7.0-rc.1+b1").compare(v("3.7.0-rc.1+b2"))).toBe(0);
  });

  test("atLeast: the release itself and anything newer, not its pre-releases", () => {
    expect(v("3.7.0").atLeast(3, 7)).toBe(true);
    expect(v("3.7.4").atLeast(3, 7, 4)).toBe(true);
    expect(v("3.8.0").atLeast(3, 7)).toBe(true);
    expect(v("3.6.17").atLeast(3, 7)).toBe(false);
    expect(v("3.7.0-rc.1").atLeast(3, 7)).toBe(false);
    expect(v("3.5.27").atLeast(3, 5, 28)).toBe(false);
  });

  test("has: RangeStream from 3.7.0 on", () => {
    expect(v("3.7.0").has("rangeStream")).toBe(true);
    expect(v("3.7.4").has("rangeStream")).toBe(true);
    expect(v("4.0.0").has("rangeStream")).toBe(true);
    for (const old of ["3.4.23", "3.5.36", "3.6.17", "3.7.0-alpha.0"])
      expect(v(old).has("rangeStream"), old).toBe(false);
  });
});

describe("ServerVersion.has", () => {
  test("a feature of one release, from that release on", () => {
    expect(v("3.7.0").has("rangeStream")).toBe(true);
    expect(v("3.7.0-rc.2").has("rangeStream")).toBe(false);
    expect(v("3.6.17").has("rangeStream")).toBe(false);
  });

  test("a fix backported to older lines: from its release in each line, in every later line", () => {
    for (const [text, has] of [
      ["3.3.27", false],
      ["3.4.23", false],
      ["3.4.24", true],
      ["3.4.45", true],
      ["3.5.7", false],
      ["3.5.8", true],
      ["3.5.36", true],
      ["3.6.0", true],
      ["3.7.4", true],
      ["4.0.0", true],
    ] as const)
      expect(v(text).has("syncedProgress"), text).toBe(has);
  });
});
