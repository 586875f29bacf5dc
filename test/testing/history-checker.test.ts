import { describe, expect, it } from "vitest";
import { checkHistory, type HistoryEvent } from "../support/history.js";

const ev = (revision: number, key = `k${revision}`): HistoryEvent => ({
  revision: BigInt(revision),
  key,
  type: "put",
});

describe("checkHistory", () => {
  const store = [ev(2), ev(3), ev(4, "a"), ev(4, "b"), ev(5), ev(6)];

  it("passes an exact delivery", () => {
    const r = checkHistory(store, [...store]);
    expect(r.ok).toBe(true);
  });

  it("flags a dropped event as lost", () => {
    const r = checkHistory(
      store,
      store.filter((e) => e.revision !== 3n),
    );
    expect(r.ok).toBe(false);
    expect(r.lost).toEqual([ev(3)]);
    expect(r.duplicated).toEqual([]);
    expect(r.outOfOrder).toEqual([]);
  });

  it("flags a repeated event as duplicated", () => {
    const r = checkHistory(store, [...store.slice(0, 5), ev(5), ev(6)]);
    expect(r.ok).toBe(false);
    expect(r.duplicated).toEqual([ev(5)]);
    expect(r.lost).toEqual([]);
    expect(r.outOfOrder).toEqual([]);
  });

  it("flags a reordered event as out of order", () => {
    const r = checkHistory(store, [ev(2), ev(4, "a"), ev(3), ev(4, "b"), ev(5), ev(6)]);
    expect(r.ok).toBe(false);
    expect(r.outOfOrder).toEqual([ev(3)]);
    expect(r.lost).toEqual([]);
    expect(r.duplicated).toEqual([]);
  });

  it("flags order inside one revision (a txn) too, and unexpected events", () => {
    const r = checkHistory(store, [ev(2), ev(3), ev(4, "b"), ev(4, "a"), ev(5), ev(6), ev(7)]);
    expect(r.outOfOrder).toEqual([ev(4, "a")]);
    expect(r.unexpected).toEqual([ev(7)]);
  });

  it("flags all three at once", () => {
    const r = checkHistory(store, [ev(2), ev(4, "a"), ev(3), ev(4, "b"), ev(4, "b"), ev(6)]);
    expect(r.lost).toEqual([ev(5)]);
    expect(r.duplicated).toEqual([ev(4, "b")]);
    expect(r.outOfOrder).toEqual([ev(3)]);
  });
});
