import { describe, expect, it } from "vitest";
import { OwnedKeys, REACQUIRE_AFTER_MS } from "./owned-keys.js";

describe("OwnedKeys", () => {
  it("records an ownership only when the acquiring txn succeeded and no revoke came meanwhile", () => {
    const keys = new OwnedKeys();
    keys.startAcquire("a");
    expect(keys.finishAcquire("a", false, undefined, 5n)).toBeUndefined();
    keys.startAcquire("a");
    expect(keys.finishAcquire("a", true, undefined, 6n)?.revision).toBe(6n);
    expect(keys.size).toBe(1);
    keys.startAcquire("b");
    keys.evict("b"); // a revoke of "b" seen while its txn was in flight
    expect(keys.finishAcquire("b", true, undefined, 7n)).toBeUndefined();
    expect(keys.get("b")).toBeUndefined();
    expect([...keys.acquiringKeys()]).toEqual([]);
  });

  it("keeps the newer of two ownerships of one key", () => {
    const keys = new OwnedKeys();
    keys.startAcquire("a");
    keys.startAcquire("a");
    const newer = keys.finishAcquire("a", true, undefined, 9n);
    expect(keys.finishAcquire("a", true, undefined, 8n)).toBe(newer);
    expect(keys.get("a")?.revision).toBe(9n);
  });

  it("leaves a key revoked by a writer to the server for the backoff, one whose lease went not", () => {
    let now = 1000;
    const keys = new OwnedKeys(() => now);
    keys.startAcquire("a");
    keys.finishAcquire("a", true, undefined, 3n);
    expect(keys.evict("a")).toBe(3n);
    expect(keys.evict("a")).toBe(0n);
    expect(keys.mayAcquire("a")).toBe(false);
    now += REACQUIRE_AFTER_MS + 1;
    expect(keys.mayAcquire("a")).toBe(true);
    keys.startAcquire("b");
    keys.finishAcquire("b", true, undefined, 4n);
    keys.evict("b", false);
    expect(keys.mayAcquire("b")).toBe(true);
  });

  it("clear() drops every ownership and the acquisitions in flight", () => {
    const keys = new OwnedKeys();
    keys.startAcquire("a");
    keys.finishAcquire("a", true, undefined, 3n);
    keys.startAcquire("b");
    keys.clear();
    expect(keys.size).toBe(0);
    expect(keys.finishAcquire("b", true, undefined, 4n)).toBeUndefined();
    expect(keys.mayAcquire("a")).toBe(true);
  });
});
