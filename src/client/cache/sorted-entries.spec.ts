import { describe, expect, it } from "vitest";
import { fromByteString, toByteString } from "./byte-string.js";
import { SortedEntries } from "./sorted-entries.js";

/** Every entry from `from` on, as [key, value, modRevision]. */
function walk(store: SortedEntries, from = ""): [string, string, bigint][] {
  const out: [string, string, bigint][] = [];
  for (const c = store.cursor(from); !c.done; c.next()) {
    const kv = c.keyValue();
    expect(toByteString(kv.key)).toBe(c.key);
    out.push([c.key, toByteString(kv.value), c.modRevision]);
  }
  return out;
}

describe("byte strings", () => {
  it("round-trip every byte value, short and long, and order as bytes do", () => {
    const all = Uint8Array.from({ length: 256 }, (_, i) => i);
    expect(fromByteString(toByteString(all))).toEqual(all);
    const long = Uint8Array.from({ length: 20_000 }, (_, i) => (i * 7) & 0xff);
    expect(fromByteString(toByteString(long))).toEqual(long);
    expect(toByteString(Uint8Array.of(0x7f)) < toByteString(Uint8Array.of(0x80))).toBe(true);
    expect(toByteString(Uint8Array.of(0xff)) > toByteString(Uint8Array.of(0xfe, 0xff))).toBe(true);
  });
});

describe("SortedEntries", () => {
  it("keeps keys in order with their numbers through inserts, updates and deletes", () => {
    const s = new SortedEntries();
    expect(walk(s)).toEqual([]);
    expect(s.set("b", "2", 1n, 2n, 1n, 0n)).toBe(true);
    expect(s.set("a", "1", 3n, 3n, 1n, 7n)).toBe(true);
    expect(s.set("b", "22", 1n, 4n, 2n, 0n)).toBe(false);
    const b = s.get("b")!;
    expect([b.createRevision, b.modRevision, b.version, b.lease]).toEqual([1n, 4n, 2n, 0n]);
    expect(s.get("a")?.lease).toBe(7n);
    expect(s.get("c")).toBeUndefined();
    expect(walk(s)).toEqual([
      ["a", "1", 3n],
      ["b", "22", 4n],
    ]);
    expect(s.delete("a")).toBe(true);
    expect(s.delete("a")).toBe(false);
    expect(walk(s)).toEqual([["b", "22", 4n]]);
    expect(s.size).toBe(1);
  });

  it("keeps exact 64-bit numbers (lease IDs above 2^53)", () => {
    const s = new SortedEntries();
    const lease = 0x7fff_ffff_ffff_fff1n;
    s.set("k", "", 1n, 2n, 3n, lease);
    expect(s.get("k")?.lease).toBe(lease);
  });

  it("matches a reference model over random operations across many leaves", () => {
    const s = new SortedEntries();
    const model = new Map<string, [string, bigint]>();
    let seed = 42;
    const rand = (n: number) => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed % n;
    };
    for (let step = 1; step <= 30_000; step++) {
      const key = `k${rand(3000).toString().padStart(4, "0")}`;
      // Deletes win a third of the time: the store grows, then churns through splits and merges.
      if (rand(3) === 0) {
        expect(s.delete(key)).toBe(model.delete(key));
      } else {
        const value = `v${step}`;
        expect(s.set(key, value, 1n, BigInt(step), 1n, 0n)).toBe(!model.has(key));
        model.set(key, [value, BigInt(step)]);
      }
      if (step % 5000 === 0) {
        const expected = [...model.entries()]
          .sort(([a], [b]) => (a < b ? -1 : 1))
          .map(([k, [v, r]]) => [k, v, r]);
        expect(walk(s)).toEqual(expected);
        expect(s.size).toBe(model.size);
        expect(walk(s, "k1500")).toEqual(expected.filter(([k]) => (k as string) >= "k1500"));
      }
    }
    for (const key of [...model.keys()]) s.delete(key);
    expect(s.size).toBe(0);
    expect(walk(s)).toEqual([]);
  });

  it("stays exact when most keys are deleted (the columns are compacted) and keys come back", () => {
    const s = new SortedEntries();
    const key = (i: number) => `k${String(i).padStart(5, "0")}`;
    for (let i = 0; i < 10_000; i++) s.set(key(i), `v${i}`, 1n, BigInt(i + 1), 1n, BigInt(i));
    for (let i = 0; i < 10_000; i++) if (i % 10 !== 0) s.delete(key(i));
    expect(s.size).toBe(1000);
    const rest = walk(s);
    expect(rest.map(([k]) => k)).toEqual(Array.from({ length: 1000 }, (_, j) => key(j * 10)));
    expect(rest[5]).toEqual([key(50), "v50", 51n]);
    expect(s.get(key(70))?.lease).toBe(70n);
    for (let i = 1; i < 10_000; i += 10) s.set(key(i), "again", 1n, 1n, 1n, 0n);
    expect(s.size).toBe(2000);
    expect(walk(s).map(([k]) => k)).toEqual([...walk(s).map(([k]) => k)].sort());
    expect(s.get(key(11))?.text()).toBe("again");
  });

  it("fills leaves when keys arrive in order, and inserts before, between and after", () => {
    const s = new SortedEntries();
    for (let i = 0; i < 1000; i++) s.set(`k${String(i).padStart(4, "0")}`, "v", 1n, 1n, 1n, 0n);
    s.set("a", "v", 1n, 1n, 1n, 0n);
    s.set("k0500x", "v", 1n, 1n, 1n, 0n);
    s.set("z", "v", 1n, 1n, 1n, 0n);
    const keys = walk(s).map(([k]) => k);
    expect(keys).toHaveLength(1003);
    expect(keys).toEqual([...keys].sort());
    expect(keys[0]).toBe("a");
    expect(keys.at(-1)).toBe("z");
    expect(keys.indexOf("k0500x")).toBe(keys.indexOf("k0500") + 1);
  });
});
