import { describe, expect, it } from "vitest";
import { byteRange, covers, holds } from "./key-bounds.js";
import { diffEntries } from "./resync-diff.js";
import { SortedEntries } from "./sorted-entries.js";

function store(entries: [string, bigint][]): SortedEntries {
  const s = new SortedEntries();
  for (const [key, rev] of entries) s.set(key, `v${rev}`, rev, rev, 1n, 0n);
  return s;
}

describe("diffEntries", () => {
  it("puts new and changed keys, deletes gone ones at the resync revision, in key order", () => {
    const before = store([
      ["a", 1n],
      ["b", 2n],
      ["c", 3n],
      ["e", 4n],
    ]);
    const after = store([
      ["b", 2n],
      ["c", 7n],
      ["d", 8n],
    ]);
    const events = diffEntries(before, after, 9n).map((e) => ({
      type: e.type,
      key: e.kv.keyText(),
      mod: e.kv.modRevision,
      value: e.kv.text(),
      prev: e.prevKv?.text(),
    }));
    expect(events).toEqual([
      { type: "delete", key: "a", mod: 9n, value: "", prev: "v1" },
      { type: "put", key: "c", mod: 7n, value: "v7", prev: "v3" },
      { type: "put", key: "d", mod: 8n, value: "v8", prev: undefined },
      { type: "delete", key: "e", mod: 9n, value: "", prev: "v4" },
    ]);
    expect(diffEntries(after, after, 9n)).toEqual([]);
    expect(diffEntries(new SortedEntries(), after, 9n).map((e) => e.type)).toEqual(["put", "put", "put"]);
  });
});

describe("byte ranges", () => {
  it("spell keys and ranges as reads do", () => {
    expect(byteRange("k")).toEqual({ start: "k", end: "k\0" });
    expect(byteRange({ prefix: "a/" })).toEqual({ start: "a/", end: "a0" });
    expect(byteRange({ prefix: "" })).toEqual({ start: "\0", end: undefined });
    expect(byteRange({ fromKey: "m" })).toEqual({ start: "m", end: undefined });
    expect(byteRange({ key: "a", end: "c" })).toEqual({ start: "a", end: "c" });
    expect(() => byteRange("")).toThrow(/key/);
  });

  it("tell which keys and ranges lie inside", () => {
    const outer = byteRange({ prefix: "a/" });
    expect(covers(outer, byteRange("a/x"))).toBe(true);
    expect(covers(outer, byteRange({ prefix: "a/b" }))).toBe(true);
    expect(covers(outer, byteRange({ prefix: "a" }))).toBe(false);
    expect(covers(outer, byteRange({ fromKey: "a/x" }))).toBe(false);
    expect(covers(byteRange({ fromKey: "a" }), byteRange({ fromKey: "b" }))).toBe(true);
    expect(holds(outer, "a/")).toBe(true);
    expect(holds(outer, "a0")).toBe(false);
    expect(holds(byteRange("k"), "k")).toBe(true);
    expect(holds(byteRange("k"), "k\0")).toBe(false);
  });
});
