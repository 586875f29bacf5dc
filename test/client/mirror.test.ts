import { describe, expect, it } from "vitest";
import {
  ClientClosedError,
  type Etcd,
  InvalidArgumentError,
  InvalidUsageError,
  type Mirror,
  type MirrorBatch,
  op,
  PermissionDeniedError,
  WatchCompactedError,
} from "../../src/client/index.js";
import { useEtcd } from "../support/etcd-fixture.js";
import { enableAuth } from "../support/etcdctl.js";
import { within } from "../support/wait.js";

/** A destination as a map: applies batches as a copy loop would, and records what it was given. */
class Copy {
  readonly keys = new Map<string, string>();
  readonly batches: MirrorBatch[] = [];
  /** The revision the copy is complete at (a `synced` or `changes` batch's). */
  revision = 0n;

  apply(batch: MirrorBatch): void {
    this.batches.push(batch);
    if (batch.type === "base") for (const kv of batch.kvs) this.keys.set(kv.keyText(), kv.text());
    else if (batch.type === "synced") this.revision = batch.revision;
    else {
      for (const e of batch.events)
        if (e.type === "put") this.keys.set(e.kv.keyText(), e.kv.text());
        else this.keys.delete(e.kv.keyText());
      this.revision = batch.revision;
    }
  }

  readonly #iterator: AsyncIterator<MirrorBatch>;

  constructor(mirror: Mirror) {
    this.#iterator = mirror[Symbol.asyncIterator]();
  }

  /** Takes batches from the mirror until `done` says so. */
  async follow(done: (copy: Copy) => boolean, what: string): Promise<void> {
    const iterator = this.#iterator;
    await within(
      (async () => {
        while (!done(this)) {
          const next = await iterator.next();
          if (next.done) throw new Error(`the mirror ended before ${what}`);
          this.apply(next.value);
        }
      })(),
      what,
    );
  }
}

/** The prefix as etcd holds it at `revision`, as a map. */
async function contentAt(etcd: Etcd, prefix: string, revision: bigint): Promise<Map<string, string>> {
  const res = await etcd.range({ prefix }, { revision });
  return new Map(res.kvs.map((kv) => [kv.keyText(), kv.text()]));
}

describe("etcd.mirror()", () => {
  const fx = useEtcd();

  it("delivers the prefix read at one revision in pages, then every change from the next revision", async () => {
    const etcd = fx.client();
    const prefix = "mirror-copy/";
    await etcd.put("mirror-copyX", "outside the prefix");
    // The last write before the read is inside the prefix: a watch from the read's revision would repeat it.
    for (let i = 0; i < 23; i++) await etcd.put(`${prefix}k${String(i).padStart(2, "0")}`, `v${i}`);
    const mirror = etcd.mirror(prefix, { pageSize: 5 });
    fx.cleanups.push(() => mirror.close());
    expect(mirror.state).toBe("reading");
    const copy = new Copy(mirror);
    // The first page fixes the read's revision: writes after it are changes, not part of the read.
    await copy.follow((c) => c.batches.length > 0, "the first page");
    const put = await etcd.put(`${prefix}k99`, "written during the read");
    await etcd.delete(`${prefix}k00`);
    await copy.follow((c) => c.revision > 0n, "the end of the read");
    const base = copy.batches.filter((b) => b.type === "base");
    const synced = copy.batches.at(-1);
    expect(synced).toEqual({ type: "synced", revision: put.revision - 1n, resync: false });
    expect(base.flatMap((b) => b.kvs.map((kv) => kv.keyText()))).toEqual([
      ...(await contentAt(etcd, prefix, put.revision - 1n)).keys(),
    ]);
    // The first request reads pageSize keys; the rest come in pages (or, on etcd >= 3.7, stream chunks).
    expect(base.length).toBeGreaterThan(1);
    expect(base[0]?.kvs.length).toBe(5);
    expect(base.every((b) => !b.resync)).toBe(true);
    expect(copy.keys).toEqual(await contentAt(etcd, prefix, put.revision - 1n));

    // A txn is one revision with several events; a delete of the range many.
    const txn = await etcd
      .txn()
      .onSuccess(op.put(`${prefix}t1`, "a"), op.put(`${prefix}t2`, "b"), op.delete(`${prefix}k01`))
      .commit();
    const removed = await etcd.delete({ key: `${prefix}k10`, end: `${prefix}k15` });
    const last = await etcd.put(`${prefix}k02`, "changed");
    await copy.follow((c) => c.revision >= last.revision, "the last write");
    expect(mirror.state).toBe("following");
    const changes = copy.batches.filter((b) => b.type === "changes");
    expect(changes.flatMap((b) => b.events.map((e) => e.kv.modRevision))).toEqual([
      put.revision,
      put.revision + 1n,
      txn.revision,
      txn.revision,
      txn.revision,
      ...Array(5).fill(removed.revision),
      last.revision,
    ]);
    expect(copy.keys).toEqual(await contentAt(etcd, prefix, last.revision));
    expect(copy.keys.has("mirror-copyX")).toBe(false);
  });

  it("reads the next page only once the loop took what is buffered", async () => {
    const etcd = fx.client();
    for (let i = 0; i < 6; i++) await etcd.put(`mirror-pull/k${i}`, `v${i}`);
    const mirror = etcd.mirror("mirror-pull/", { pageSize: 1 });
    fx.cleanups.push(() => mirror.close());
    const copy = new Copy(mirror);
    await copy.follow((c) => c.batches.length > 0, "the first page");
    // Time for a mirror that read ahead to finish its read (six keys): a pulled one still waits for the loop.
    for (let i = 0; i < 5; i++) await etcd.get("mirror-pull/k0");
    expect(mirror.state).toBe("reading");
    await copy.follow((c) => c.revision > 0n, "the rest of the read");
    expect(copy.keys.size).toBe(6);
  });

  it("mirrors every key for the empty prefix, and a namespace view's keys without its prefix", async () => {
    const etcd = fx.client();
    const view = etcd.namespace("mirror-ns/");
    await view.put("a", "1");
    await view.put("b", "2");
    const mirror = view.mirror("");
    fx.cleanups.push(() => mirror.close());
    const copy = new Copy(mirror);
    await copy.follow((c) => c.revision > 0n, "the read");
    expect(copy.keys).toEqual(
      new Map([
        ["a", "1"],
        ["b", "2"],
      ]),
    );
    const whole = etcd.mirror(new Uint8Array(0));
    fx.cleanups.push(() => whole.close());
    const all = new Copy(whole);
    await all.follow((c) => c.revision > 0n, "the whole keyspace");
    expect(all.keys.get("mirror-ns/a")).toBe("1");
    expect(all.keys.size).toBe(
      Number((await etcd.range({ prefix: "" }, { countOnly: true, revision: all.revision })).count),
    );
  });

  it("ends with WatchCompactedError where the changes to deliver were compacted (etcdctl's make-mirror exits)", async () => {
    const etcd = fx.client();
    const first = await etcd.put("mirror-compact/a", "1");
    await etcd.put("mirror-compact/a", "2");
    const now = await etcd.put("mirror-compact/b", "3");
    await etcd.compact(now.revision);
    const mirror = etcd.mirror("mirror-compact/", { startRevision: first.revision });
    expect(mirror.state).toBe("following");
    const error = await within(mirror.closed, "the mirror's end");
    expect(error).toBeInstanceOf(WatchCompactedError);
    expect((error as WatchCompactedError).compactRevision).toBe(now.revision);
    await expect(mirror[Symbol.asyncIterator]().next()).rejects.toBe(error);
    expect(mirror.state).toBe("closed");
    expect(mirror.signal.reason).toBe(error);
  });

  it('reads the prefix again after a compaction with onCompacted: "resync", flagged resync, then follows', async () => {
    const etcd = fx.client();
    const first = await etcd.put("mirror-resync/a", "1");
    await etcd.put("mirror-resync/gone", "x");
    await etcd.delete("mirror-resync/gone");
    const now = await etcd.put("mirror-resync/b", "2");
    await etcd.compact(now.revision);
    const mirror = etcd.mirror("mirror-resync/", { startRevision: first.revision, onCompacted: "resync" });
    fx.cleanups.push(() => mirror.close());
    const copy = new Copy(mirror);
    copy.keys.set("mirror-resync/gone", "a key the destination should drop");
    await copy.follow((c) => c.revision > 0n, "the resync read");
    expect(copy.batches.every((b) => b.type !== "changes" && b.resync)).toBe(true);
    const synced = copy.batches.at(-1);
    expect(synced?.type === "synced" && synced.revision >= now.revision).toBe(true);
    const named = new Set(
      copy.batches.flatMap((b) => (b.type === "base" ? b.kvs.map((kv) => kv.keyText()) : [])),
    );
    expect([...named]).toEqual(["mirror-resync/a", "mirror-resync/b"]);
    const later = await etcd.put("mirror-resync/c", "3");
    await copy.follow((c) => c.revision >= later.revision, "the change after the resync");
    expect(copy.batches.at(-1)).toMatchObject({ type: "changes", revision: later.revision });
  });

  it("is a live object: close(), break, its signal and the client's close end it cleanly", async () => {
    const etcd = fx.client();
    await etcd.put("mirror-life/a", "1");
    const closing = etcd.mirror("mirror-life/");
    const states: string[] = [];
    closing.on("state", (s) => states.push(s));
    const ended = new Promise((resolve) => closing.once("close", resolve));
    await closing.close();
    await closing.close();
    expect(await closing.closed).toBeUndefined();
    expect(await ended).toBeUndefined();
    expect(closing.signal.aborted).toBe(true);
    expect(states).toContain("closed");
    // After close, the loop ends cleanly (what was buffered may still come first).
    for await (const _ of closing) {
    }

    const broken = etcd.mirror("mirror-life/");
    for await (const batch of broken) if (batch.type === "synced") break;
    expect(await within(broken.closed, "the end after break")).toBeUndefined();
    expect(broken.state).toBe("closed");

    const abort = new AbortController();
    const aborted = etcd.mirror("mirror-life/", { signal: abort.signal });
    const iterator = aborted[Symbol.asyncIterator]();
    expect(() => aborted[Symbol.asyncIterator]().next()).not.toThrow();
    abort.abort();
    expect(await aborted.closed).toBeUndefined();
    await iterator.next();
    expect(etcd.mirror("mirror-life/", { signal: abort.signal }).state).toBe("closed");

    const own = fx.client();
    const orphan = own.mirror("mirror-life/");
    await own.close();
    expect(await within(orphan.closed, "the end with the client")).toBeUndefined();
    expect(() => own.mirror("mirror-life/")).toThrow(ClientClosedError);
  });

  it("refuses a second for await at once", async () => {
    const mirror = fx.client().mirror("mirror-twice/");
    fx.cleanups.push(() => mirror.close());
    const first = mirror[Symbol.asyncIterator]();
    const pending = first.next();
    await expect(mirror[Symbol.asyncIterator]().next()).rejects.toBeInstanceOf(InvalidUsageError);
    await pending;
  });

  it("refuses bad input from JavaScript callers before anything is sent", () => {
    const etcd = fx.client();
    const bad: [unknown, unknown, string][] = [
      [null, undefined, "prefix"],
      [{ prefix: "p" }, undefined, "prefix"],
      ["p", null, "options"],
      ["p", "fast", "options"],
      ["p", { pageSize: 0 }, "pageSize"],
      ["p", { pageSize: 1.5 }, "pageSize"],
      ["p", { startRevision: 0 }, "startRevision"],
      ["p", { startRevision: "1" }, "startRevision"],
      ["p", { onCompacted: "ignore" }, "onCompacted"],
    ];
    for (const [prefix, options, field] of bad) {
      const call = () => etcd.mirror(prefix as string, options as undefined);
      expect(call).toThrow(InvalidArgumentError);
      expect(call).toThrow(field);
    }
  });
});

describe("etcd.mirror() with auth on", () => {
  const fx = useEtcd();

  it("copies what the user may read, and ends with PermissionDeniedError where it may not", async () => {
    const endpoint = fx.cluster.endpoints[0]!;
    const root = fx.client({ auth: { username: "root", password: "rootpw" } });
    await enableAuth(endpoint, {
      rootPassword: "rootpw",
      role: {
        name: "mirror-reader",
        grants: [["read", "allowed/"]],
        users: [{ username: "reader", password: "pw" }],
      },
    });
    await root.put("allowed/a", "1");
    await root.put("secret/a", "2");
    const reader = fx.client({ auth: { username: "reader", password: "pw" } });
    const mirror = reader.mirror("allowed/");
    fx.cleanups.push(() => mirror.close());
    const copy = new Copy(mirror);
    await copy.follow((c) => c.revision > 0n, "the read");
    const put = await root.put("allowed/b", "3");
    await copy.follow((c) => c.revision >= put.revision, "the change");
    expect(copy.keys).toEqual(
      new Map([
        ["allowed/a", "1"],
        ["allowed/b", "3"],
      ]),
    );

    const refused = reader.mirror("secret/");
    const error = await within(refused.closed, "the refused mirror's end");
    expect(error).toBeInstanceOf(PermissionDeniedError);
    await expect(refused[Symbol.asyncIterator]().next()).rejects.toBe(error);
  });
});
