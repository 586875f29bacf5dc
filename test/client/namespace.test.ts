import { inspect } from "node:util";
import { beforeAll, describe, expect, it } from "vitest";
import {
  ClientClosedError,
  compare,
  Election,
  Etcd,
  InvalidArgumentError,
  type KeyValue,
  Mutex,
  op,
  runStm,
  Session,
  txn,
  type WatchBatch,
  type Watcher,
} from "../../src/client/index.js";
import { discover, register } from "../../src/discovery/index.js";
import { collect } from "../support/collect.js";
import { type SharedCluster, useSharedEtcd } from "../support/etcd-fixture.js";
import { until, within } from "../support/wait.js";

const env = useSharedEtcd();
const { cleanups } = env;
let cluster: SharedCluster;
/** The plain client: it writes and reads raw keys, as Go's namespace package lays them out. */
let etcd: Etcd;
/** A second, separate client: its views contend with `etcd`'s views as another process would. */
let other: Etcd;

beforeAll(() => {
  cluster = env.cluster;
  etcd = env.client();
  other = env.client();
});

const enc = (s: string) => new TextEncoder().encode(s);
const bytes = (...parts: (string | Uint8Array)[]) => {
  const chunks = parts.map((p) => (typeof p === "string" ? enc(p) : p));
  const out = new Uint8Array(chunks.reduce((n, c) => n + c.length, 0));
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.length;
  }
  return out;
};
const texts = (kvs: readonly KeyValue[]) => kvs.map((kv) => kv.keyText());

/**
 * Raw keys around the namespace `<base>/`, each outside it: the base itself, a shorter key, the key at the
 * namespace's end (`<base>0`) and one under it, one just before (`<base>.x`), and one holding the prefix
 * further in.
 */
function siblings(base: string): string[] {
  return [base, base.slice(0, -1), `${base}0`, `${base}0/x`, `${base}.x`, `x/${base}/k`];
}

async function writeSiblings(base: string): Promise<void> {
  for (const key of siblings(base)) await etcd.put(key, "outside");
}

/** Everything a watch delivers until a batch holds an event for `sentinel`: the events' keys, and the batches. */
async function readUntil(
  watcher: Watcher,
  sentinel: string,
): Promise<{ keys: string[]; batches: WatchBatch[] }> {
  const keys: string[] = [];
  const batches: WatchBatch[] = [];
  await within(
    (async () => {
      for await (const batch of watcher) {
        batches.push(batch);
        for (const e of batch.events) keys.push(e.kv.keyText());
        if (batch.events.some((e) => e.kv.keyText() === sentinel)) return;
      }
    })(),
    `a watch delivering ${sentinel}`,
  );
  return { keys, batches };
}

describe("etcd.namespace(prefix)", () => {
  it("refuses an empty prefix and what is not a string or bytes, also from JavaScript callers", () => {
    for (const bad of ["", new Uint8Array(0), null, undefined, 5, {}, ["a"]]) {
      expect(() => etcd.namespace(bad as string)).toThrow(InvalidArgumentError);
    }
    expect(() => etcd.namespace(null as unknown as string)).toThrow(/prefix/);
  });

  it("reads and writes every spelling of a key and range inside the namespace, never a sibling", async () => {
    const view = etcd.namespace("kv/");
    await writeSiblings("kv");
    await etcd.put("kv/", "the namespace's own key");
    for (const k of ["a", "b", "c/1", "c/2", "d"]) await view.put(k, `v-${k}`);
    // Go's layout: the raw key is the prefix's bytes, then the key's.
    expect((await etcd.range({ prefix: "kv/" })).kvs.map((kv) => kv.keyText())).toEqual([
      "kv/",
      "kv/a",
      "kv/b",
      "kv/c/1",
      "kv/c/2",
      "kv/d",
    ]);

    const a = await view.get("a");
    expect(a?.keyText()).toBe("a");
    expect(a?.text()).toBe("v-a");
    expect(await view.get("kv/a")).toBeUndefined();
    expect(texts((await view.range("b")).kvs)).toEqual(["b"]);
    expect(texts((await view.range({ prefix: "c/" })).kvs)).toEqual(["c/1", "c/2"]);
    expect(texts((await view.range({ key: "b", end: "d" })).kvs)).toEqual(["b", "c/1", "c/2"]);
    // A "\0" end, spelled out or as fromKey, stops at the end of the namespace (Go's prefixInterval).
    expect(texts((await view.range({ key: "c", end: "\0" })).kvs)).toEqual(["c/1", "c/2", "d"]);
    expect(texts((await view.range({ fromKey: "c" })).kvs)).toEqual(["c/1", "c/2", "d"]);
    // The whole namespace: as Go's Get("", WithPrefix()), it reads from "\0", after the namespace's own key.
    const whole = ["a", "b", "c/1", "c/2", "d"];
    expect(texts((await view.range({ prefix: "" })).kvs)).toEqual(whole);
    expect(texts((await view.range({ fromKey: "" })).kvs)).toEqual(whole);

    // count-only, keys-only, sort, limit.
    const counted = await view.range({ prefix: "" }, { countOnly: true });
    expect(counted.count).toBe(5n);
    expect(counted.kvs).toEqual([]);
    const keysOnly = await view.range({ prefix: "c/" }, { keysOnly: true });
    expect(texts(keysOnly.kvs)).toEqual(["c/1", "c/2"]);
    expect(keysOnly.kvs.every((kv) => kv.value.length === 0)).toBe(true);
    const sorted = await view.range({ fromKey: "" }, { sort: { target: "key", order: "descend" }, limit: 2 });
    expect(texts(sorted.kvs)).toEqual(["d", "c/2"]);
    expect(sorted.more).toBe(true);
    expect(sorted.count).toBe(5n);

    // iterate(): every page's next key is computed from a stripped key and prefixed again.
    const iterated: string[] = [];
    for await (const kv of view.iterate({ prefix: "" }, { pageSize: 2 })) iterated.push(kv.keyText());
    expect(iterated).toEqual(whole);
    const fromC: string[] = [];
    for await (const kv of view.iterate({ fromKey: "c" }, { pageSize: 1 })) fromC.push(kv.keyText());
    expect(fromC).toEqual(["c/1", "c/2", "d"]);

    // put and delete with prevKv.
    const put = await view.put("a", "v2", { prevKv: true });
    expect(put.prevKv?.keyText()).toBe("a");
    expect(put.prevKv?.text()).toBe("v-a");
    const del = await view.delete({ prefix: "c/" }, { prevKv: true });
    expect(del.deleted).toBe(2n);
    expect(texts(del.prevKvs)).toEqual(["c/1", "c/2"]);
    const delFrom = await view.delete({ fromKey: "b" }, { prevKv: true });
    expect(texts(delFrom.prevKvs)).toEqual(["b", "d"]);
    const delAll = await view.delete({ prefix: "" });
    expect(delAll.deleted).toBe(1n);

    // Nothing outside the namespace was read or deleted, and its own key is still there.
    for (const key of siblings("kv")) expect((await etcd.get(key))?.text()).toBe("outside");
    expect((await etcd.get("kv/"))?.text()).toBe("the namespace's own key");
    expect((await etcd.range({ prefix: "kv/" })).count).toBe(1n);
  });

  it("reads keys written raw as Go's namespace package writes them, non-UTF-8 bytes included", async () => {
    const prefix = Uint8Array.of(0x6e, 0xfe, 0x2f); // "n", a byte that is never UTF-8, "/"
    const view = etcd.namespace(prefix);
    const key = Uint8Array.of(0x80, 0xff, 0x00, 0x01);
    await etcd.put(bytes(prefix, key), Uint8Array.of(1, 2, 3));
    await etcd.put(bytes(prefix, "text"), "t");
    await etcd.put(Uint8Array.of(0x6e, 0xfe), "sibling");
    await etcd.put(Uint8Array.of(0x6e, 0xfe, 0x30), "sibling");

    const got = await view.get(key);
    expect(got?.key).toEqual(key);
    expect(got?.value).toEqual(Uint8Array.of(1, 2, 3));
    const all = await view.range({ prefix: "" });
    expect(all.kvs.map((kv) => kv.key)).toEqual([enc("text"), key]);
    expect((await view.range({ prefix: Uint8Array.of(0x80) })).kvs.map((kv) => kv.key)).toEqual([key]);

    // And the other way: what the view writes is the prefix's bytes then the key's.
    await view.put(Uint8Array.of(0xc0), "w");
    expect((await etcd.get(bytes(prefix, Uint8Array.of(0xc0))))?.text()).toBe("w");
    await etcd.delete({ prefix: Uint8Array.of(0x6e, 0xfe) });
  });

  it("keeps a fromKey range inside a namespace whose prefix is all 0xff bytes", async () => {
    const prefix = Uint8Array.of(0xff, 0xff);
    const view = etcd.namespace(prefix);
    await etcd.put(Uint8Array.of(0xff), "sibling");
    await etcd.put(Uint8Array.of(0xff, 0xfe, 0xff), "sibling");
    await view.put("a", "1");
    await view.put(Uint8Array.of(0xff), "2");
    const res = await view.range({ fromKey: "" });
    expect(res.kvs.map((kv) => kv.key)).toEqual([enc("a"), Uint8Array.of(0xff)]);
    await etcd.delete({ fromKey: Uint8Array.of(0xff) });
  });

  it("composes nested namespaces as Go's wrapped wrappers do", async () => {
    const a = etcd.namespace("nest-a/");
    const ab = a.namespace("b/");
    await ab.put("k", "v");
    await etcd.put("nest-a/b0", "outside b/");
    expect((await etcd.get("nest-a/b/k"))?.text()).toBe("v");
    expect(texts((await a.range({ prefix: "" })).kvs)).toEqual(["b/k", "b0"]);
    expect(texts((await ab.range({ fromKey: "" })).kvs)).toEqual(["k"]);
    expect(ab.keyPrefix).toEqual(enc("nest-a/b/"));
    expect(etcd.keyPrefix).toEqual(new Uint8Array(0));
    await etcd.delete({ prefix: "nest-a/" });
  });
});

describe("watches in a namespace", () => {
  it("deliver only keys inside the namespace, stripped, for a prefix, fromKey and whole-namespace watch", async () => {
    const view = etcd.namespace("watch/");
    const whole = view.watch({ prefix: "" }, { prevKv: true });
    const fromKey = view.watch({ fromKey: "m" });
    const prefix = view.watch({ prefix: "p/" });
    cleanups.push(() => Promise.all([whole, fromKey, prefix].map((w) => w.close())));
    await Promise.all([whole.created, fromKey.created, prefix.created]);

    await writeSiblings("watch");
    await view.put("a", "1");
    await view.put("p/1", "1");
    await view.put("p/1", "2");
    await view.put("z", "1");
    await etcd.put("watch/", "the namespace's own key");
    await view.delete("p/1");
    await etcd.put("p/1", "raw, outside");
    await view.put("zz-end", "sentinel");

    const w = await readUntil(whole, "zz-end");
    // As Go's namespace watcher: a whole-namespace watch starts at the namespace's own key (empty here).
    expect(w.keys).toEqual(["a", "p/1", "p/1", "z", "", "p/1", "zz-end"]);
    const events = w.batches.flatMap((b) => b.events);
    const update = events[2]!;
    expect(update.prevKv?.keyText()).toBe("p/1");
    expect(update.prevKv?.text()).toBe("1");
    const deletion = events[5]!;
    expect(deletion.type).toBe("delete");
    expect(deletion.prevKv?.keyText()).toBe("p/1");

    expect((await readUntil(fromKey, "zz-end")).keys).toEqual(["p/1", "p/1", "z", "p/1", "zz-end"]);
    await view.put("p/zz-end", "sentinel");
    expect((await readUntil(prefix, "p/zz-end")).keys).toEqual(["p/1", "p/1", "p/1", "p/zz-end"]);
    expect(whole.key).toEqual(enc("watch/"));
    expect(whole.rangeEnd).toEqual(enc("watch0"));
    await etcd.delete({ prefix: "watc" });
    await etcd.delete("p/1");
  });

  it("strip the keys of a compaction resync and keep siblings out of it", async () => {
    const view = etcd.namespace("resync/");
    await writeSiblings("resync");
    const first = await view.put("a", "1");
    await view.put("b", "1");
    await etcd.put("resync0", "outside again");
    const last = await view.put("a", "2");
    await etcd.compact(last.revision);
    const watcher = view.watch({ prefix: "" }, { startRevision: first.revision, onCompacted: "resync" });
    cleanups.push(() => watcher.close());
    // One loop: leaving a `for await` closes the watch.
    let resync: readonly KeyValue[] | undefined;
    const after: string[] = [];
    await within(
      (async () => {
        for await (const batch of watcher) {
          if (batch.resync) {
            resync = batch.resync;
            await view.put("c", "after");
            await etcd.put("resync0", "outside, after");
          }
          for (const e of batch.events) after.push(e.kv.keyText());
          if (after.includes("c")) return;
        }
      })(),
      "the resync batch, then the event after it",
    );
    expect(texts(resync ?? [])).toEqual(["a", "b"]);
    expect(resync?.[0]?.text()).toBe("2");
    expect(after).toEqual(["c"]);
    await etcd.delete({ prefix: "resync" });
  });
});

describe("txns in a namespace", () => {
  it("prefix comparisons and ops (nested txns too) and strip every result", async () => {
    const view = etcd.namespace("tx/");
    await etcd.put("k", "raw k, outside the namespace");
    await etcd.put("tx0", "sibling");
    // The raw "k" exists; the namespace's "k" does not: the guard sees the namespace's.
    const created = await view
      .txn()
      .if(compare.version("k", "=", 0))
      .onSuccess(op.put("k", "1"), op.put("r/1", "x"), op.put("r/2", "y"))
      .commit();
    expect(created.succeeded).toBe(true);
    expect((await etcd.get("tx/k"))?.text()).toBe("1");
    expect((await etcd.get("k"))?.text()).toBe("raw k, outside the namespace");

    const inner = txn()
      .if(compare.value({ prefix: "r/" }, "!=", "nope"))
      .onSuccess(op.get({ fromKey: "" }, { keysOnly: true }), op.delete("r/2", { prevKv: true }));
    const res = await view
      .txn()
      .if(compare.value("k", "=", "1"), compare.version({ fromKey: "" }, ">", 0))
      .onSuccess(op.put("k", "2", { prevKv: true }), op.get({ prefix: "r/" }), op.txn(inner))
      .onFailure(op.get("k"))
      .commit();
    expect(res.succeeded).toBe(true);
    if (!res.succeeded) return;
    const [put, get, nested] = res.results;
    expect(put.prevKv?.keyText()).toBe("k");
    expect(texts(get.kvs)).toEqual(["r/1", "r/2"]);
    expect(nested.succeeded).toBe(true);
    if (!nested.succeeded) return;
    expect(texts(nested.results[0].kvs)).toEqual(["k", "r/1", "r/2"]);
    expect(texts(nested.results[1].prevKvs)).toEqual(["r/2"]);

    // A guard on a range covers the namespace only: "tx0" (raw, value "sibling") is not in it.
    const guarded = await view
      .txn()
      .if(compare.value({ fromKey: "" }, "!=", "sibling"))
      .commit();
    expect(guarded.succeeded).toBe(true);
    await etcd.delete({ prefix: "tx" });
    await etcd.delete("k");
  });

  it("runs an STM inside the namespace", async () => {
    const view = etcd.namespace("stm/");
    await view.put("from", "10");
    await view.put("to", "0");
    await etcd.put("from", "raw");
    const { value } = await runStm(view, async (stm) => {
      const from = Number(await stm.get("from"));
      const to = Number(await stm.get("to"));
      stm.put("from", String(from - 3));
      stm.put("to", String(to + 3));
      return from;
    });
    expect(value).toBe(10);
    expect((await etcd.get("stm/from"))?.text()).toBe("7");
    expect((await etcd.get("stm/to"))?.text()).toBe("3");
    expect((await etcd.get("from"))?.text()).toBe("raw");
    await etcd.delete({ prefix: "stm/" });
    await etcd.delete("from");
  });
});

describe("leases in a namespace", () => {
  it("list only the lease's keys inside the namespace, stripped (Go's namespace TimeToLive)", async () => {
    const view = etcd.namespace("ls/");
    const lease = await view.lease.grant(30);
    cleanups.push(() => lease.revoke());
    await view.put("a", "1", { lease: lease.id });
    await etcd.put("ls0", "sibling", { lease: lease.id });
    await etcd.put("other", "outside", { lease: lease.id });
    const viewed = await view.lease.timeToLive(lease.id, { keys: true });
    expect(viewed.keys).toEqual([enc("a")]);
    const raw = await etcd.lease.timeToLive(lease.id, { keys: true });
    expect(raw.keys.map((k) => new TextDecoder().decode(k)).sort()).toEqual(["ls/a", "ls0", "other"]);
    expect(await view.lease.leases()).toContain(lease.id);
    // The view's lease API shares the client's keeper: closing it (or the view) stops nothing.
    await view.lease.close();
    await view.close();
    expect(lease.state).toBe("alive");
    // Still kept by the client: keepAlive returns a lease this client keeps alive as is.
    expect(await etcd.lease.keepAlive(lease.id)).toBe(lease);
  });
});

describe("concurrency recipes in a namespace", () => {
  it("a Mutex contends across clients inside the namespace, in Go's key layout, apart from the root", async () => {
    const s1 = await Session.create(etcd.namespace("locks/"), { ttl: 10 });
    const s2 = await Session.create(other.namespace("locks/"), { ttl: 10 });
    const sRoot = await Session.create(etcd, { ttl: 10 });
    cleanups.push(() => Promise.all([s1.close(), s2.close(), sRoot.close()]));
    const m1 = new Mutex(s1, "m");
    const m2 = new Mutex(s2, "m");
    await m1.lock();
    expect(m1.key).toBe(`m/${s1.leaseId.toString(16)}`);
    expect((await etcd.get(`locks/m/${s1.leaseId.toString(16)}`))?.lease).toBe(s1.leaseId);
    // The same lock name outside the namespace is another lock.
    const rootMutex = new Mutex(sRoot, "m");
    expect(await rootMutex.tryLock()).toBe(true);
    await rootMutex.unlock();
    expect(await m2.tryLock()).toBe(false);
    const waiting = m2.lock();
    await until("m2's waiter key", async () => (await etcd.range({ prefix: "locks/m/" })).count === 2n);
    let acquired = false;
    void waiting.then(() => {
      acquired = true;
    });
    // A fence: m1's guard holds inside the namespace.
    const fenced = await s1.etcd.txn().if(m1.isOwner()).onSuccess(op.put("fenced", "1")).commit();
    expect(fenced.succeeded).toBe(true);
    expect(acquired).toBe(false);
    await m1.unlock();
    await within(waiting, "m2 taking the lock m1 released");
    expect(m2.key).toBe(`m/${s2.leaseId.toString(16)}`);
    await m2.unlock();
    expect((await etcd.range({ prefix: "locks/m/" })).count).toBe(0n);
    await etcd.delete({ prefix: "locks/" });
  });

  it("an Election elects one leader across clients; leader() and observe() show namespaced keys", async () => {
    const s1 = await Session.create(etcd.namespace("elect/"), { ttl: 10 });
    const s2 = await Session.create(other.namespace("elect/"), { ttl: 10 });
    cleanups.push(() => Promise.all([s1.close(), s2.close()]));
    const e1 = new Election(s1, "e");
    const e2 = new Election(s2, "e");
    await e1.campaign("one");
    const second = e2.campaign("two");
    const observer = new AbortController();
    cleanups.push(() => observer.abort());
    const seen: string[] = [];
    const observing = (async () => {
      for await (const kv of e2.observe({ signal: observer.signal })) {
        seen.push(`${kv.keyText()}=${kv.text()}`);
        if (kv.text() === "two") return;
      }
    })();
    const leader = await e2.leader();
    expect(leader?.keyText()).toBe(`e/${s1.leaseId.toString(16)}`);
    expect(leader?.text()).toBe("one");
    expect((await etcd.get(`elect/e/${s1.leaseId.toString(16)}`))?.text()).toBe("one");
    await until("e2's candidate key", async () => (await etcd.range({ prefix: "elect/e/" })).count === 2n);
    await e1.resign();
    await within(second, "e2 elected after e1 resigned");
    await within(observing, "observe() seeing e2 lead");
    expect(seen.at(0)).toBe(`e/${s1.leaseId.toString(16)}=one`);
    expect(seen.at(-1)).toBe(`e/${s2.leaseId.toString(16)}=two`);
    await e2.resign();
    await etcd.delete({ prefix: "elect/" });
  });
});

describe("discovery in a namespace", () => {
  it("register and discover in the same namespace see each other; discover outside it does not", async () => {
    const registration = await register(etcd.namespace("disc/"), { service: "svc", addr: "10.0.0.1:1" });
    cleanups.push(() => registration.close());
    expect(registration.key).toBe("svc/10.0.0.1:1");
    expect((await etcd.get("disc/svc/10.0.0.1:1"))?.lease).not.toBe(0n);

    const inside = discover(other.namespace("disc/"), "svc");
    const outside = discover(other, "svc");
    cleanups.push(() => Promise.all([inside.close(), outside.close()]));
    await within(Promise.all([inside.ready, outside.ready]), "both discoveries reading");
    expect(inside.instances().map((i) => i.addr)).toEqual(["10.0.0.1:1"]);
    expect(outside.instances()).toEqual([]);

    const second = await register(other.namespace("disc/"), { service: "svc", addr: "10.0.0.2:1" });
    await until("the second instance discovered", () => inside.instances().length === 2);
    await second.close();
    await until("the second instance gone", () => inside.instances().length === 1);
    expect(outside.instances()).toEqual([]);
  });
});

describe("a view's lifetime and admin APIs", () => {
  it("shares the client's connection and lifetime: close() on a view closes nothing, closing the client ends the view", async () => {
    const client = new Etcd({ endpoints: cluster.endpoints });
    cleanups.push(() => client.close());
    const view = client.namespace("life/");
    expect(view).toBeInstanceOf(Etcd);
    expect(view.cluster).toBe(client.cluster);
    expect(view.maintenance).toBe(client.maintenance);
    expect(view.auth).toBe(client.auth);
    expect(view.endpoints).toEqual(client.endpoints);
    expect(inspect(view)).toBe(`Etcd { namespace: "life/", endpoints: ${JSON.stringify(client.endpoints)} }`);
    // Admin calls are the client's, not namespaced.
    expect((await view.status()).revision).toBeGreaterThan(0n);
    expect((await view.memberList()).length).toBe(1);

    const watcher = view.watch({ prefix: "" });
    await watcher.created;
    const delivered = collect(watcher);
    await view.close();
    await view[Symbol.asyncDispose]();
    await view.put("k", "still works");
    expect((await client.get("life/k"))?.text()).toBe("still works");
    await until("the view's watch delivering k", () => delivered.keys.includes("k"));
    expect(watcher.state).toBe("active");

    await client.close();
    expect(await within(delivered.done, "the view's watch ending with its client")).toBeUndefined();
    await expect(view.get("k")).rejects.toBeInstanceOf(ClientClosedError);
    expect(inspect(view)).toContain(", closed }");
    await etcd.delete({ prefix: "life/" });
  });
});
