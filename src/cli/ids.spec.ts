import { describe, expect, it } from "vitest";
import { hexId, leaseHex, parseHexId, parseInteger } from "./ids.js";
import { UsageError } from "./usage-error.js";

describe("lease and member IDs", () => {
  it("parses hex as etcdctl prints it, with or without 0x, and prints it back", () => {
    expect(parseHexId("694d7b5f2a3b8c0a", "<id>")).toBe(0x694d7b5f2a3b8c0an);
    expect(parseHexId("0xFF", "<id>")).toBe(255n);
    expect(hexId(0x694d7b5f2a3b8c0an)).toBe("694d7b5f2a3b8c0a");
    expect(parseHexId(hexId(2n ** 63n - 1n), "<id>")).toBe(2n ** 63n - 1n);
  });

  it("prints lease IDs zero-padded to 16 digits, as etcdctl's %016x does", () => {
    expect(leaseHex(0xa42a24dfb82852en)).toBe("0a42a24dfb82852e");
    expect(leaseHex(0x694d7b5f2a3b8c0an)).toBe("694d7b5f2a3b8c0a");
    expect(parseHexId(leaseHex(5n), "<id>")).toBe(5n);
  });

  it.each(["", "0", "xyz", "12345678901234567", "-1", "0x"])("refuses %j", (text) => {
    expect(() => parseHexId(text, "<id>")).toThrow(UsageError);
  });
});

describe("parseInteger", () => {
  it("parses whole numbers of any size at or above the minimum", () => {
    expect(parseInteger("0", "--limit")).toBe(0n);
    expect(parseInteger("9223372036854775807", "--rev", 1)).toBe(9223372036854775807n);
    expect(() => parseInteger("0", "--rev", 1)).toThrow(/--rev: must be at least 1, got 0/);
    expect(() => parseInteger("1.5", "--limit")).toThrow(/--limit: "1.5" is not a whole number/);
    expect(() => parseInteger("-3", "--limit")).toThrow(UsageError);
  });
});
