import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ServerVersion } from "../../src/client/call/server-version.js";
import {
  AuthFailedError,
  type CacheChange,
  ClientClosedError,
  ClosedError,
  createHttp2Transport,
  DeadlineExceededError,
  Etcd,
  EtcdError,
  type EtcdOptions,
  InvalidArgumentError,
  InvalidUsageError,
  type KeyValue,
  op,
  prefixRangeEnd,
  type RangeCache,
  RangeCacheClosedError,
  type RangeCacheState,
} from "../../src/client/index.js";
import { type EtcdCluster, FaultProxy } from "../../src/testing/index.js";
import { useEtcd } from "../support/etcd-fixture.js";
import { enableAuth } from "../support/etcdctl.js";
import { checkHistory, describeReport, type HistoryEvent, readHistory } from "../support/history.js";
import { HistoryLoad } from "../support/history-load.js";
import { until, within } from "../support/wait.js";

const enc = new TextEncoder();

/** Short timeouts, so that faults show quickly. */
const CLIENT_OPTIONS = {
  timeoutMs: 3000,
  endpointCooldownMs: 200,
  keepaliveIntervalMs: 1000,
  keepaliveTimeoutMs: 1000,
} satisfies Partial<EtcdOptions>;

/** A client with {@link CLIENT_OPTIONS}. */
function client(endpoint: string, auth?: { username: string; password: string }): Etcd {
  return new Etcd({ endpoints: endpoint, ...CLIENT_OPTIONS, ...(auth ? { auth } : {}) });
}

/** Everything a KeyValue says, for comparing the cache with etcd. */
const shape = (kv: KeyValue) => ({
  key: kv.keyText(),
  value: kv.text(),
  createRevision: kv.createRevision,
  modRevision: kv.modRevision,
  version: kv.version,
  lease: kv.lease,
});

/** The cache's content equals a fresh range read at the cache's own revision. */
async function expectEqualsEtcd(cache: RangeCache, etcd: Etcd, prefix: string): Promise<void> {
  const truth = await etcd.range({ prefix }, { revision: cache.revision });
  const mine = cache.range({ prefix });
  expect(mine.revision).toBe(cache.revision);
  expect(mine.kvs.map(shape)).toEqual(truth.kvs.map(shape));
  expect(mine.count).toBe(truth.count);
}

/**
 * Rebuilds the cache's content from its initial content and its `change` events alone, and records the
 * events (resync ones apart) for the history checker.
 */
class ChangeMirror {
  readonly content = new Map<string, ReturnType<typeof shape>>();
  readonly events: HistoryEvent[] = [];
  readonly changes: CacheChange[] = [];
  readonly problems: string[] = [];

  constructor(cache: RangeCache, prefix: string) {
    for (const kv of cache.range({ prefix }).kvs) this.content.set(kv.keyText(), shape(kv));
    cache.on("change", (change) => this.apply(change));
  }

  apply(change: CacheChange): void {
    this.changes.push(change);
    for (const e of change.events) {
      const key = e.kv.keyText();
      const had = this.content.get(key);
      if (had && e.prevKv?.modRevision !== had.modRevision)
        this.problems.push(`prevKv of ${key} is not what it was`);
      if (!had && e.prevKv) this.problems.push(`prevKv for the new key ${key}`);
      if (e.type === "put") this.content.set(key, shape(e.kv));
      else if (!this.content.delete(key)) this.problems.push(`delete of unknown ${key}`);
      if (!change.resync) this.events.push({ revision: e.kv.modRevision, key, type: e.type });
    }
  }

  /** The mirror as the cache's `range()` would list it. */
  sorted(): ReturnType<typeof shape>[] {
    return [...this.content.values()].sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  }
}

describe("etcd.cache() against a real etcd", () => {
  const env = useEtcd({ client: CLIENT_OPTIONS });
  const { cleanups } = env;
  let cluster: EtcdCluster;
  let etcd: Etcd;
  let writer: Etcd;

  beforeAll(() => {
    cluster = env.cluster;
    etcd = env.client();
    writer = env.client();
  });

  const open = (range: Parameters<Etcd["cache"]>[0], via = etcd) => {
    const cache = via.cache(range);
    cleanups.push(() => cache.close());
    return cache;
  };

  it("mirrors puts, deletes and multi-key txns, and equals a fresh range at its revision", async () => {
    for (let i = 0; i < 30; i++) await writer.put(`m/k${String(i).padStart(2, "0")}`, `v${i}`);
    const lease = await writer.lease.grant(60);
    cleanups.push(() => lease.revoke());
    const cache = open({ prefix: "m/" });
    await cache.ready;
    expect(cache.size).toBe(30);
    await expectEqualsEtcd(cache, writer, "m/");
    const mirror = new ChangeMirror(cache, "m/");
    const iterated: CacheChange[] = [];
    const iterating = (async () => {
      for await (const change of cache) {
        iterated.push(change);
        if (change.events.some((e) => e.kv.keyText() === "m/~end")) return;
      }
    })();

    await writer.put("m/k03", "changed", { lease: lease.id });
    await writer.delete("m/k04");
    await writer.delete({ key: "m/k10", end: "m/k15" });
    await writer.put("outside", "not cached");
    await writer
      .txn()
      .onSuccess(op.put("m/new1", "1"), op.put("m/k20", "t"), op.delete("m/k21"), op.put("m/new2", "2"))
      .commit();
    await writer
      .txn()
      .onSuccess(op.delete({ prefix: "m/k2" }), op.put("m/k3x", "x"))
      .commit();
    const { revision } = await writer.put("m/~end", "");
    expect(await within(cache.waitForRevision(revision), "the cache reaching the last write")).toBe(revision);
    expect(cache.revision).toBe(revision);
    await expectEqualsEtcd(cache, writer, "m/");
    expect(cache.get("m/k03")?.lease).toBe(lease.id);
    expect(cache.get("m/k04")).toBeUndefined();
    // Changes rebuild the content exactly, their prevKv is the entry before, and for await sees the same.
    expect(mirror.problems).toEqual([]);
    expect(mirror.sorted()).toEqual(cache.range({ prefix: "m/" }).kvs.map(shape));
    await within(iterating, "the iterator reaching the last write");
    expect(iterated).toEqual(mirror.changes);
    // One change per revision: the two txns are one change each.
    expect(mirror.changes.map((c) => c.revision)).toEqual([
      ...new Set(mirror.changes.map((c) => c.revision)),
    ]);
    expect(mirror.changes.every((c) => !c.resync)).toBe(true);
  });

  it("answers keys and ranges spelled as reads spell them, inside its range only", async () => {
    await writer.put("sp/a", "1");
    await writer.put("sp/b", "2");
    await writer.put("sp/c", "3");
    const cache = open({ key: "sp/a", end: "sp/c" });
    expect(() => cache.get("sp/a")).toThrow(InvalidUsageError);
    await cache.ready;
    expect(cache.get("sp/a")?.text()).toBe("1");
    expect(cache.get(enc.encode("sp/b"))?.text()).toBe("2");
    expect(cache.range({ prefix: "sp/b" }).kvs.map((kv) => kv.keyText())).toEqual(["sp/b"]);
    const limited = cache.range({ key: "sp/a", end: "sp/c" }, { limit: 1 });
    expect([limited.kvs.length, limited.count, limited.more]).toEqual([1, 2n, true]);
    expect(() => cache.get("sp/c")).toThrow(InvalidArgumentError);
    expect(() => cache.range({ prefix: "sp/" })).toThrow(InvalidArgumentError);
    expect(() => cache.range({ fromKey: "sp/a" })).toThrow(InvalidArgumentError);
    expect(() => cache.get("")).toThrow(InvalidArgumentError);

    const one = open("sp/c");
    await one.ready;
    expect(one.get("sp/c")?.text()).toBe("3");
    const all = open({ fromKey: "sp/b" });
    await all.ready;
    expect(all.range({ fromKey: "sp/c" }).kvs[0]?.keyText()).toBe("sp/c");
    expect(() => etcd.cache({ prefix: "x" }, { pageSize: 0 })).toThrow(InvalidArgumentError);
  });

  it("mirrors a namespace view's keys, named without the prefix", async () => {
    const view = etcd.namespace("nsc/");
    await writer.put("nsc/a/1", "x");
    await writer.put("a/1", "outside the namespace");
    const cache = open({ prefix: "a/" }, view);
    await cache.ready;
    const { revision } = await writer.put("nsc/a/2", "y");
    await within(cache.waitForRevision(revision), "the namespaced write");
    expect(cache.range({ prefix: "a/" }).kvs.map((kv) => [kv.keyText(), kv.text()])).toEqual([
      ["a/1", "x"],
      ["a/2", "y"],
    ]);
    await expectEqualsEtcd(cache, view, "a/");
  });

  it("reads a range larger than one page at one revision", async () => {
    // Two txns: etcd takes at most 128 operations in one (--max-txn-ops).
    for (const half of [0, 125])
      await writer
        .txn()
        .onSuccess(...Array.from({ length: 125 }, (_, i) => op.put(`pg/${half + i}`, `${half + i}`)))
        .commit();
    const cache = etcd.cache({ prefix: "pg/" }, { pageSize: 40 });
    cleanups.push(() => cache.close());
    await cache.ready;
    expect(cache.size).toBe(250);
    await expectEqualsEtcd(cache, writer, "pg/");
  });

  it("waitForRevision after a put resolves with the put in the cache; it rejects on timeout and on close", async () => {
    const cache = open({ prefix: "ryw/" });
    const early = cache.waitForRevision(1);
    await cache.ready;
    await early;
    for (let i = 0; i < 20; i++) {
      const { revision } = await writer.put(`ryw/k${i % 3}`, `v${i}`);
      await cache.waitForRevision(revision);
      expect(cache.get(`ryw/k${i % 3}`)?.text()).toBe(`v${i}`);
    }
    const far = cache.revision + 1000n;
    await expect(cache.waitForRevision(far, { timeoutMs: 50 })).rejects.toBeInstanceOf(DeadlineExceededError);
    const pending = cache.waitForRevision(far);
    await cache.close();
    await expect(pending).rejects.toBeInstanceOf(RangeCacheClosedError);
    await expect(cache.waitForRevision(1)).rejects.toBeInstanceOf(RangeCacheClosedError);
    await expect(cache.waitForRevision(-1)).rejects.toBeInstanceOf(InvalidArgumentError);
  });

  it("waitForRevision of a write outside its range: confirmed by a progress notice where etcd makes it complete", async () => {
    const cache = open({ prefix: "outside/" });
    await cache.ready;
    const changes: CacheChange[] = [];
    cache.on("change", (c) => changes.push(c));
    const server = ServerVersion.parse((await writer.status()).version)!;
    const { revision } = await writer.put("not-outside/x", "1");
    let resolved: bigint | undefined;
    const wait = cache.waitForRevision(revision).then((r) => {
      resolved = r;
      return r;
    });
    if (server.has("syncedProgress")) {
      // etcd 3.4.24+, 3.5.8+, 3.6, 3.7: the cache asks for progress, and the notice is complete.
      expect(await within(wait, "the progress notice")).toBeGreaterThanOrEqual(revision);
      expect(cache.revision).toBeGreaterThanOrEqual(revision);
      expect(changes).toEqual([]);
    } else {
      // etcd 3.4.23: a notice may overtake events still being replayed (issue 15220), so the cache does
      // not move on it. A watch of the same client sees the notice; the cache, on the same stream, did not move.
      const other = etcd.watch("outside-witness");
      cleanups.push(() => other.close());
      let noticed = false;
      other.on("batch", (b) => {
        if (b.progress) noticed = true;
      });
      await until("the witness watch active", () => other.state === "active");
      etcd.requestWatchProgress();
      await until("a progress notice on the witness", () => noticed);
      expect(resolved).toBeUndefined();
      expect(cache.revision).toBeLessThan(revision);
    }
    // Either way, the range's next change passes it.
    const { revision: inside } = await writer.put("outside/k", "1");
    expect(await within(wait, "the write inside the range")).toBeLessThanOrEqual(inside);
    await within(cache.waitForRevision(inside), "the write inside the range");
  });

  it("stays exact through connection cuts and an etcd SIGKILL and restart under load", async () => {
    await using proxy = await FaultProxy.start(cluster.endpoint);
    const viaProxy = client(proxy.url);
    cleanups.push(() => viaProxy.close());
    const cache = open({ prefix: "cut/" }, viaProxy);
    await cache.ready;
    const from = cache.revision + 1n;
    const mirror = new ChangeMirror(cache, "cut/");
    const load = new HistoryLoad("cut/", () => writer);
    load.start(1);
    for (let i = 0; i <= 12; i++) {
      // Each cut hits a live stream: the cache just applied a write made after the previous cut.
      const { revision } = await writer.put(`cut/!mark${i}`, "", { timeoutMs: 10_000 });
      await within(cache.waitForRevision(revision), `marker ${i}, written after ${i} cuts`);
      if (i === 6) {
        await cluster.members[0]!.kill();
        await cluster.members[0]!.start();
        continue;
      }
      proxy.cut();
      await new Promise((r) => setTimeout(r, 50));
    }
    await load.stop();
    const end = await load.sentinel();
    await within(cache.waitForRevision(end), "the cache reaching the sentinel");
    await expectEqualsEtcd(cache, writer, "cut/");
    expect(mirror.problems).toEqual([]);
    expect(mirror.sorted()).toEqual(cache.range({ prefix: "cut/" }).kvs.map(shape));
    // Every revision of the range reached the cache once and in order: no resync papered over a gap.
    const raw = createHttp2Transport({ baseUrl: cluster.endpoint });
    cleanups.push(() => raw.close());
    const key = enc.encode("cut/");
    const truth = await readHistory(raw, {
      key,
      rangeEnd: prefixRangeEnd(key),
      fromRevision: from,
      toRevision: end,
    });
    expect(truth.length).toBeGreaterThan(50);
    const report = checkHistory(truth, mirror.events);
    expect(report.ok, describeReport(report)).toBe(true);
  }, 90_000);

  it("resyncs after a compaction it missed while cut off, applying and reporting the differences", async () => {
    await using proxy = await FaultProxy.start(cluster.endpoint);
    const viaProxy = client(proxy.url);
    cleanups.push(() => viaProxy.close());
    for (const k of ["a", "b", "c", "d"]) await writer.put(`cmp/${k}`, "1");
    const cache = open({ prefix: "cmp/" }, viaProxy);
    await cache.ready;
    const mirror = new ChangeMirror(cache, "cmp/");
    const before = cache.revision;
    proxy.refuse(true);
    proxy.cut();
    await writer.delete("cmp/a");
    await writer.put("cmp/b", "2");
    await writer.put("cmp/e", "1");
    await writer.txn().onSuccess(op.put("cmp/f", "1"), op.delete("cmp/c")).commit();
    await writer.put("cmp/e", "2");
    await writer.delete("cmp/e");
    const { revision } = await writer.put("elsewhere", "x");
    await writer.compact(revision);
    proxy.refuse(false);
    await within(cache.waitForRevision(revision), "the cache resynced past the compaction");
    expect(cache.revision).toBeGreaterThan(before);
    await expectEqualsEtcd(cache, writer, "cmp/");
    const resyncs = mirror.changes.filter((c) => c.resync);
    expect(resyncs).toHaveLength(1);
    expect(resyncs[0]!.events.map((e) => `${e.type} ${e.kv.keyText()}`)).toEqual([
      "delete cmp/a",
      "put cmp/b",
      "delete cmp/c",
      "put cmp/f",
    ]);
    expect(mirror.problems).toEqual([]);
    expect(mirror.sorted()).toEqual(cache.range({ prefix: "cmp/" }).kvs.map(shape));
    // And it follows the watch again afterwards.
    const { revision: later } = await writer.put("cmp/g", "1");
    await within(cache.waitForRevision(later), "a change after the resync");
    expect(cache.get("cmp/g")?.text()).toBe("1");
  });

  it("follows the lifecycle of live objects: state, closed, close event, signal, close() idempotent", async () => {
    const cache = etcd.cache({ prefix: "life/" });
    const states: RangeCacheState[] = [];
    cache.on("state", (s) => states.push(s));
    const closes: (Error | undefined)[] = [];
    cache.on("close", (e) => closes.push(e));
    expect(cache.state).toBe("connecting");
    await cache.ready;
    await until("the cache live", () => cache.state === "live");
    const signal = cache.signal;
    expect(signal.aborted).toBe(false);
    const iterating = (async () => {
      for await (const _ of cache);
    })();
    await Promise.all([cache.close(), cache.close()]);
    expect(cache.state).toBe("closed");
    expect(await cache.closed).toBeUndefined();
    expect(signal.aborted).toBe(true);
    expect(signal.reason).toBeInstanceOf(ClosedError);
    await within(iterating, "the iterator ending");
    expect(() => cache.get("life/x")).toThrow(RangeCacheClosedError);
    expect(cache.size).toBe(0);
    await new Promise((r) => setTimeout(r, 10));
    expect(closes).toEqual([undefined]);
    expect(states.at(-1)).toBe("closed");
    expect(states).toContain("live");
  });

  it("ends with its client or its signal, and ready rejects when it ends first", async () => {
    await using proxy = await FaultProxy.start(cluster.endpoint);
    proxy.refuse(true);
    const own = new Etcd({ endpoints: proxy.url, timeoutMs: 500 });
    const cache = own.cache({ prefix: "end/" });
    const errors: Error[] = [];
    cache.on("unavailable", (e) => errors.push(e));
    await until("an unavailable report", () => errors.length > 0, 10_000);
    expect(cache.state).toBe("unavailable");
    expect(errors[0]).toBeInstanceOf(EtcdError);
    await own.close();
    expect(await within(cache.closed, "the cache closed with its client")).toBeUndefined();
    await expect(cache.ready).rejects.toBeInstanceOf(RangeCacheClosedError);
    expect(() => own.cache({ prefix: "end/" })).toThrow(ClientClosedError);

    const controller = new AbortController();
    const bySignal = etcd.cache({ prefix: "end/" }, { signal: controller.signal });
    await bySignal.ready;
    controller.abort();
    expect(await within(bySignal.closed, "the cache closed by its signal")).toBeUndefined();
    expect(bySignal.state).toBe("closed");
  });
});

describe("etcd.cache() with auth on (tokens expire after 2 s)", () => {
  const ROOT = { username: "root", password: "root-Secret-pw-123" };
  const READER = { username: "reader", password: "reader-Secret-pw-456" };
  const env = useEtcd({ start: { args: ["--auth-token-ttl=2"] } });
  const { cleanups } = env;
  let cluster: EtcdCluster;
  let root: Etcd;

  beforeAll(async () => {
    cluster = env.cluster;
    await enableAuth(cluster.endpoint, {
      rootPassword: ROOT.password,
      role: { name: "cache-reader", grants: [["read", "au/"]], users: [READER] },
    });
    root = client(cluster.endpoint, ROOT);
  });
  afterAll(async () => {
    await root?.close();
  });

  it("follows changes across cuts after its token expired, and resyncs after a compaction with a stale token", async () => {
    await using proxy = await FaultProxy.start(cluster.endpoint);
    const reader = client(proxy.url, READER);
    cleanups.push(() => reader.close());
    for (let i = 0; i < 5; i++) await root.put(`au/k${i}`, "1");
    const cache = reader.cache({ prefix: "au/" });
    cleanups.push(() => cache.close());
    await cache.ready;
    const mirror = new ChangeMirror(cache, "au/");
    // Nothing uses the reader's token for 3 s: it expires; the watch stream reopened after the cut must
    // carry a fresh one.
    await new Promise((r) => setTimeout(r, 3000));
    proxy.cut();
    let last = 0n;
    for (let i = 0; i < 5; i++) last = (await root.put(`au/k${i}`, "2")).revision;
    await within(cache.waitForRevision(last), "changes after the token expired and the stream was cut");
    await expectEqualsEtcd(cache, root, "au/");

    // Cut off while the history is compacted; the token expires meanwhile: the resync read needs a new one.
    proxy.refuse(true);
    proxy.cut();
    await root.delete("au/k0");
    await root.put("au/new", "1");
    const { revision } = await root.put("other", "x");
    await root.compact(revision);
    await new Promise((r) => setTimeout(r, 3000));
    proxy.refuse(false);
    await within(cache.waitForRevision(revision), "the resync after the compaction");
    await expectEqualsEtcd(cache, root, "au/");
    expect(mirror.changes.some((c) => c.resync)).toBe(true);
    expect(mirror.problems).toEqual([]);
    expect(mirror.sorted()).toEqual(cache.range({ prefix: "au/" }).kvs.map(shape));
  }, 60_000);

  it("ends with AuthFailedError on wrong credentials, and ready rejects with it", async () => {
    const wrong = client(cluster.endpoint, { username: "reader", password: "not-the-password" });
    cleanups.push(() => wrong.close());
    const cache = wrong.cache({ prefix: "au/" });
    await expect(cache.ready).rejects.toBeInstanceOf(AuthFailedError);
    expect(await cache.closed).toBeInstanceOf(AuthFailedError);
    expect(cache.state).toBe("closed");
    expect(cache.signal.reason).toBeInstanceOf(AuthFailedError);
  });
});
