import { describe, expect, it } from "vitest";
import { SnapshotFeed } from "./snapshot-feed.js";

describe("SnapshotFeed", () => {
  it("gives the due snapshot at once, then one per change while the loop waits", async () => {
    let version = 0;
    const feed = new SnapshotFeed(
      () => version,
      () => {},
      true,
    );
    expect(await feed.next()).toEqual({ value: 0, done: false });
    const next = feed.next();
    version = 1;
    feed.changed();
    expect(await next).toEqual({ value: 1, done: false });
  });

  it("folds changes the loop did not take into the newest snapshot, built only when taken", async () => {
    let built = 0;
    let version = 0;
    const feed = new SnapshotFeed(
      () => {
        built++;
        return version;
      },
      () => {},
      false,
    );
    for (version = 1; version <= 1000; version++) feed.changed();
    expect(built).toBe(0);
    expect(await feed.next()).toEqual({ value: 1001, done: false });
    expect(built).toBe(1);
    // Changes in one turn of the event loop while the loop waits: one snapshot.
    const next = feed.next();
    feed.changed();
    feed.changed();
    expect(await next).toEqual({ value: 1001, done: false });
    expect(built).toBe(2);
  });

  it("ends a waiting loop on end(), and tells its owner once when the loop stops early", async () => {
    let stops = 0;
    const feed = new SnapshotFeed(
      () => 1,
      () => stops++,
      false,
    );
    const next = feed.next();
    await expect(feed.next()).rejects.toThrow(/already awaited/);
    feed.end();
    expect(await next).toEqual({ value: undefined, done: true });
    expect(stops).toBe(0);
    const other = new SnapshotFeed(
      () => 1,
      () => stops++,
      true,
    );
    for await (const _ of other) break;
    await other.return();
    expect(stops).toBe(1);
    expect(await other.next()).toEqual({ value: undefined, done: true });
  });
});
