import { create } from "@bufbuild/protobuf";
import { Code, createClient, type Transport } from "@connectrpc/connect";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { CompactedError } from "../../src/client/errors.js";
import { WatchCanceledError, WatchCompactedError } from "../../src/client/watch/errors.js";
import type { WatchBatch } from "../../src/client/watch/types.js";
import { WatchHub } from "../../src/client/watch/watch-hub.js";
import type { Watcher } from "../../src/client/watch/watcher.js";
import { CompactionRequestSchema, KV, PutRequestSchema } from "../../src/gen/etcdserverpb/rpc_pb.js";
import { type EtcdCluster, FaultProxy, startEtcd } from "../../src/testing/index.js";
import { checkHistory, describeReport, HistoryRecorder, readHistory } from "../support/history.js";
import { HistoryLoad } from "../support/history-load.js";
import { TestTransportPool } from "../support/transport-pool.js";

const enc = new TextEncoder();
const dec = new TextDecoder();

async function put(t: Transport, key: string, value: string, prevKvSize = 0): Promise<bigint> {
  const r = await createClient(KV, t).put(
    create(PutRequestSchema, {
      key: enc.encode(key),
      value: prevKvSize ? new Uint8Array(prevKvSize) : enc.encode(value),
    }),
  );
  return r.header!.revision;
}

/** Consumes `w` into a recorder until `until(batch)` is true or the watch ends. */
function consume(w: Watcher, recorder: HistoryRecorder, until: (b: WatchBatch) => boolean = () => false) {
  return (async () => {
    for await (const b of w) {
      recorder.record(b);
      if (until(b)) return;
    }
  })();
}

function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  return Promise.race([
    p,
    new Promise<T>((_, rej) => setTimeout(() => rej(new Error(`timed out: ${what}`)), ms).unref()),
  ]);
}

describe("WatchHub against a real etcd", () => {
  let etcd: EtcdCluster;
  let proxy: FaultProxy;
  let direct: TestTransportPool;
  const cleanups: (() => Promise<void> | void)[] = [];

  beforeAll(async () => {
    etcd = await startEtcd({ args: ["--max-request-bytes=1100000"] });
    proxy = await FaultProxy.start(etcd.endpoint);
    direct = new TestTransportPool([etcd.endpoint]);
  });
  afterEach(async () => {
    proxy.refuse(false);
    for (const c of cleanups.splice(0).reverse()) await c();
  });
  afterAll(async () => {
    direct?.close();
    await proxy?.close();
    await etcd?.close();
  });

  function hub(endpoint = etcd.endpoint, options: ConstructorParameters<typeof WatchHub>[1] = {}) {
    const pool = new TestTransportPool([endpoint]);
    const h = new WatchHub(pool, options);
    cleanups.push(
      () => h.close(),
      () => pool.close(),
    );
    return { pool, hub: h };
  }

  it("delivers a prefix's events from now, in order, with their revisions", async () => {
    const { hub: h } = hub();
    const w = h.watch("basic/", { prefix: true });
    const rec = new HistoryRecorder();
    const done = consume(w, rec, () => rec.events.length >= 3);
    await withTimeout(
      (async () => {
        while (w.state !== "active") await new Promise((r) => setTimeout(r, 10));
      })(),
      5000,
      "active",
    );
    const t = direct.pick().transport;
    const revs = [await put(t, "basic/a", "1"), await put(t, "other", "x"), await put(t, "basic/b", "2")];
    await put(t, "basic/c", "3");
    await withTimeout(done, 5000, "three events");
    expect(rec.events.map((e) => e.key)).toEqual(["basic/a", "basic/b", "basic/c"]);
    expect(rec.events[0]!.revision).toBe(revs[0]);
    expect(rec.events[1]!.revision).toBe(revs[2]);
    expect(w.nextRevision).toBe(rec.events[2]!.revision + 1n);
  });

  it("replays from startRevision with prevKv and filters", async () => {
    const t = direct.pick().transport;
    const first = await put(t, "replay/a", "1");
    await put(t, "replay/a", "2");
    await createClient(KV, t).deleteRange({ key: enc.encode("replay/a") });
    const { hub: h } = hub();
    const w = h.watch("replay/a", { startRevision: first, prevKv: true, filters: ["noDelete"] });
    const batches: WatchBatch[] = [];
    const done = (async () => {
      for await (const b of w) {
        batches.push(b);
        if (batches.flatMap((x) => x.events).length >= 2) return;
      }
    })();
    await withTimeout(done, 5000, "replay");
    const events = batches.flatMap((b) => b.events);
    expect(events.map((e) => dec.decode(e.kv!.value))).toEqual(["1", "2"]);
    expect(dec.decode(events[1]!.prevKv!.value)).toBe("1");
    expect(events.every((e) => e.type === 0)).toBe(true);
  });

  it("runs every watch on ONE Watch stream; a create the server refuses fails that watch only", async () => {
    const { pool, hub: h } = hub();
    const good = [h.watch("one/a"), h.watch("one/b"), h.watch("one/c")];
    // An empty range (end before start): etcd answers created + canceled.
    const bad = h.watch("one/z", { rangeEnd: "one/a" });
    const last = h.watch("one/d");
    const err = await withTimeout(bad.closed, 5000, "bad watch closed");
    expect(err).toBeInstanceOf(WatchCanceledError);
    const recs = [...good, last].map(() => new HistoryRecorder());
    const dones = [...good, last].map((w, i) => consume(w, recs[i]!, () => true));
    const t = direct.pick().transport;
    for (const k of ["a", "b", "c", "d"]) await put(t, `one/${k}`, "v");
    await withTimeout(Promise.all(dones), 5000, "all four watches");
    expect(recs.map((r) => r.events[0]!.key)).toEqual(["one/a", "one/b", "one/c", "one/d"]);
    expect(pool.calls.get("Watch")).toBe(1);
    expect(h.streamsOpened).toBe(1);
  });

  it("resumes after cut streams from each watch's own revision: nothing lost, nothing twice", async () => {
    const { hub: h } = hub(proxy.url);
    const t = direct.pick().transport;
    const start = (await put(t, "cut/", "start")) + 1n;
    const watchers = [
      h.watch("cut/", { prefix: true, startRevision: start }),
      h.watch("cut/", { prefix: true }),
    ];
    const recs = watchers.map(() => new HistoryRecorder());
    const load = new HistoryLoad("cut/", () => direct.pick().transport);
    const dones = watchers.map((w, i) =>
      consume(w, recs[i]!, (b) => b.events.some((e) => dec.decode(e.kv!.key) === "cut/~end")),
    );
    load.start(1);
    for (let i = 0; i < 10; i++) {
      await new Promise((r) => setTimeout(r, 80));
      proxy.cut();
    }
    await load.stop();
    const end = await load.sentinel();
    await withTimeout(Promise.all(dones), 20_000, "sentinel");
    expect(h.streamsOpened).toBeGreaterThan(5);
    const expected = await readHistory(t, {
      key: enc.encode("cut/"),
      rangeEnd: enc.encode("cut0"),
      fromRevision: start,
      toRevision: end,
    });
    expect(expected.length).toBeGreaterThan(50);
    const r0 = checkHistory(expected, recs[0]!.upTo(end));
    expect(r0.ok, describeReport(r0)).toBe(true);
    // The "now" watch started a little later: compare with the history from its first event on.
    const firstRev = recs[1]!.events[0]!.revision;
    const r1 = checkHistory(
      expected.filter((e) => e.revision >= firstRev),
      recs[1]!.upTo(end),
    );
    expect(r1.ok, describeReport(r1)).toBe(true);
  });

  it("ends with WatchCompactedError when the resume revision was compacted during a disconnect", async () => {
    const { hub: h } = hub(proxy.url);
    const t = direct.pick().transport;
    const w = h.watch("compact/a");
    const rec = new HistoryRecorder();
    const done = consume(w, rec);
    while (w.state !== "active") await new Promise((r) => setTimeout(r, 10));
    const first = await put(t, "compact/a", "1");
    while (rec.events.length < 1) await new Promise((r) => setTimeout(r, 10));
    proxy.refuse(true);
    proxy.cut();
    await put(t, "compact/a", "2");
    const third = await put(t, "compact/a", "3");
    await createClient(KV, t).compact(create(CompactionRequestSchema, { revision: third }));
    proxy.refuse(false);
    await expect(withTimeout(done, 10_000, "compacted")).rejects.toBeInstanceOf(WatchCompactedError);
    const err = (await w.closed) as WatchCompactedError;
    expect(err.code).toBe(Code.OutOfRange);
    expect(err).toBeInstanceOf(CompactedError);
    expect(err.compactRevision).toBe(third);
    expect(err.requestedRevision).toBe(first + 1n);
    expect(rec.events.map((e) => e.revision)).toEqual([first]);
  });

  it('with onCompacted: "resync" re-reads the range and goes on', async () => {
    const { hub: h } = hub(proxy.url);
    const t = direct.pick().transport;
    const w = h.watch("resync/", { prefix: true, onCompacted: "resync" });
    const batches: WatchBatch[] = [];
    const done = (async () => {
      for await (const b of w) {
        batches.push(b);
        if (b.events.some((e) => dec.decode(e.kv!.key) === "resync/after")) return;
      }
    })();
    while (w.state !== "active") await new Promise((r) => setTimeout(r, 10));
    proxy.refuse(true);
    proxy.cut();
    await put(t, "resync/a", "1");
    const rev = await put(t, "resync/b", "2");
    await createClient(KV, t).compact(create(CompactionRequestSchema, { revision: rev }));
    proxy.refuse(false);
    // Active again after the resync batch (before it, "active" may be the doomed create at the old revision).
    while (!batches.some((b) => b.resync) || w.state !== "active")
      await new Promise((r) => setTimeout(r, 10));
    const after = await put(t, "resync/after", "3");
    await withTimeout(done, 10_000, "resync");
    const resync = batches.find((b) => b.resync);
    expect(resync?.resync?.map((kv) => dec.decode(kv.key))).toEqual(["resync/a", "resync/b"]);
    const last = batches[batches.length - 1]!;
    expect(last.events[0]!.kv!.modRevision).toBe(after);
  });

  it("bounds a slow consumer's buffer by pausing its watch, then resumes without loss", async () => {
    const { hub: h } = hub(etcd.endpoint, { maxBufferedEvents: 40 });
    const t = direct.pick().transport;
    const start = (await put(t, "slow/", "start")) + 1n;
    const slow = h.watch("slow/", { prefix: true, startRevision: start });
    const fast = h.watch("slow/", { prefix: true, startRevision: start });
    const fastRec = new HistoryRecorder();
    const fastDone = consume(fast, fastRec, (b) =>
      b.events.some((e) => dec.decode(e.kv!.key) === "slow/~end"),
    );
    const load = new HistoryLoad("slow/", () => t);
    load.start(0);
    let maxBuffered = 0;
    let paused = false;
    // At least 3 s of load, and on until the slow watch paused and the writes far exceeded its bound: on a
    // loaded machine the writes come slower, so time alone does not say enough happened.
    const minEnd = Date.now() + 3000;
    const deadline = Date.now() + 20_000;
    while (Date.now() < deadline && (Date.now() < minEnd || !paused || load.ok <= 400)) {
      maxBuffered = Math.max(maxBuffered, slow.bufferedEvents);
      paused ||= slow.state === "paused";
      await new Promise((r) => setTimeout(r, 5));
    }
    await load.stop();
    const end = await load.sentinel();
    await withTimeout(fastDone, 10_000, "fast watcher");
    expect(paused).toBe(true);
    // The writes far exceed the bound, yet the buffer holds the bound plus at most one response.
    expect(load.ok).toBeGreaterThan(400);
    expect(maxBuffered).toBeGreaterThanOrEqual(40);
    // The fast watcher was not held back by the slow one.
    expect(fastRec.upTo(end).length).toBeGreaterThan(200);
    const slowRec = new HistoryRecorder();
    // Nothing consumed the slow watch before now, so its first batches are exactly the server responses
    // it buffered. etcd may put several revisions in one response, so the overshoot is measured, not
    // assumed: the pause must come with the first response that took the buffer past the bound.
    const drained: number[] = [];
    await withTimeout(
      consume(slow, slowRec, (b) => {
        drained.push(b.events.length);
        return b.events.some((e) => dec.decode(e.kv!.key) === "slow/~end");
      }),
      20_000,
      "slow drains",
    );
    let beforeCrossing = 0;
    let crossing = 0;
    for (const size of drained) {
      if (beforeCrossing + size > 40) {
        crossing = size;
        break;
      }
      beforeCrossing += size;
    }
    expect(beforeCrossing).toBeLessThanOrEqual(40);
    expect(maxBuffered).toBeLessThanOrEqual(beforeCrossing + crossing);
    const expected = await readHistory(t, {
      key: enc.encode("slow/"),
      rangeEnd: enc.encode("slow0"),
      fromRevision: start,
      toRevision: end,
    });
    const r = checkHistory(expected, slowRec.upTo(end));
    expect(r.ok, describeReport(r)).toBe(true);
    expect(checkHistory(expected, fastRec.upTo(end)).ok).toBe(true);
  }, 60_000);

  it("reassembles fragmented responses", async () => {
    const { hub: h } = hub();
    const t = direct.pick().transport;
    const kv = createClient(KV, t);
    // 5 x 200 KB in one txn: the events with their prevKvs (2 MB) exceed what etcd sends in one response
    // (--max-request-bytes 1.1 MB + 512 KiB of gRPC overhead allowance).
    const txn = (v: number) =>
      kv.txn({
        success: [0, 1, 2, 3, 4].map((i) => ({
          request: {
            case: "requestPut" as const,
            value: create(PutRequestSchema, {
              key: enc.encode(`frag/${i}`),
              value: new Uint8Array(200_000).fill(v),
            }),
          },
        })),
      });
    await txn(1);
    const w = h.watch("frag/", { prefix: true, prevKv: true, fragment: true });
    const batches: WatchBatch[] = [];
    const done = (async () => {
      for await (const b of w) {
        batches.push(b);
        if (b.events.length > 0) return;
      }
    })();
    while (w.state !== "active") await new Promise((r) => setTimeout(r, 10));
    const rev = (await txn(2)).header!.revision;
    await withTimeout(done, 10_000, "fragmented batch");
    const batch = batches.find((b) => b.events.length > 0)!;
    expect(batch.events.map((e) => dec.decode(e.kv!.key))).toEqual([
      "frag/0",
      "frag/1",
      "frag/2",
      "frag/3",
      "frag/4",
    ]);
    expect(batch.events.every((e) => e.kv!.modRevision === rev && e.prevKv?.value[0] === 1)).toBe(true);
    // The server did fragment it: a raw watch with fragment=true sees several responses for that revision.
    const raw = await rawResponsesAt(t, "frag/", rev);
    expect(raw).toBeGreaterThan(1);
  });

  it("has an event-emitter face, and requestProgress() never moves the resume point", async () => {
    const { hub: h } = hub();
    const w = h.watch("emit/a");
    const got: WatchBatch[] = [];
    w.on("batch", (b) => got.push(b));
    const ended = new Promise<void>((r) => w.once("end", () => r()));
    while (w.state !== "active") await new Promise((r) => setTimeout(r, 10));
    const next = w.nextRevision;
    await put(direct.pick().transport, "other/x", "moves the store revision");
    h.requestProgress();
    await withTimeout(
      (async () => {
        while (!got.some((b) => b.progress)) await new Promise((r) => setTimeout(r, 10));
      })(),
      5000,
      "progress",
    );
    expect(got.find((b) => b.progress)!.revision).toBeGreaterThanOrEqual(next!);
    expect(w.nextRevision).toBe(next);
    const rev = await put(direct.pick().transport, "emit/a", "1");
    await withTimeout(
      (async () => {
        while (!got.some((b) => b.events.length)) await new Promise((r) => setTimeout(r, 10));
      })(),
      5000,
      "event",
    );
    expect(got.find((b) => b.events.length)!.events[0]!.kv!.modRevision).toBe(rev);
    expect(() => w[Symbol.asyncIterator]()).toThrow();
    w.close();
    await withTimeout(ended, 5000, "end");
    expect(w.state).toBe("ended");
  });

  it("close() ends every watch cleanly and releases the stream", async () => {
    const { pool, hub: h } = hub();
    const a = h.watch("close/a");
    const b = h.watch("close/b");
    while (a.state !== "active" || b.state !== "active") await new Promise((r) => setTimeout(r, 10));
    const consumed = consume(a, new HistoryRecorder());
    await h.close();
    await withTimeout(consumed, 2000, "iteration ends");
    expect(await a.closed).toBeUndefined();
    expect(await b.closed).toBeUndefined();
    expect([a.state, b.state]).toEqual(["ended", "ended"]);
    expect(h.endpoint).toBeUndefined();
    expect(h.size).toBe(0);
    expect(() => h.watch("close/c")).toThrow();
    const calls = pool.calls.get("Watch");
    await new Promise((r) => setTimeout(r, 300));
    expect(pool.calls.get("Watch")).toBe(calls);
  });

  it("probes a silent stream without delivering the probe answers", async () => {
    const { hub: h } = hub(etcd.endpoint, { idleTimeoutMs: 150, probeTimeoutMs: 500 });
    const w = h.watch("probe/a");
    const got: WatchBatch[] = [];
    w.on("batch", (b) => got.push(b));
    while (w.state !== "active") await new Promise((r) => setTimeout(r, 10));
    // Several idle periods: probes go out and are answered; nothing reaches the watch, the stream stays.
    await new Promise((r) => setTimeout(r, 1200));
    expect(h.probesSent).toBeGreaterThanOrEqual(3);
    expect(got).toEqual([]);
    expect(h.streamsOpened).toBe(1);
    h.requestProgress();
    while (!got.some((b) => b.progress)) await new Promise((r) => setTimeout(r, 10));
    expect(got.filter((b) => b.progress)).toHaveLength(1);
  });
});

/** Counts raw responses of a plain fragmenting watch at `revision` (how many pieces the server sent). */
async function rawResponsesAt(t: Transport, prefix: string, revision: bigint): Promise<number> {
  const { Watch } = await import("../../src/gen/etcdserverpb/rpc_pb.js");
  const { QueuedIterator } = await import("../../src/client/stream/queued-iterator.js");
  const { WatchRequestSchema } = await import("../../src/gen/etcdserverpb/rpc_pb.js");
  const requests = new QueuedIterator<import("../../src/gen/etcdserverpb/rpc_pb.js").WatchRequest>();
  const key = enc.encode(prefix);
  const end = key.slice();
  end[end.length - 1]!++;
  requests.push(
    create(WatchRequestSchema, {
      requestUnion: {
        case: "createRequest",
        value: { key, rangeEnd: end, startRevision: revision, prevKv: true, fragment: true },
      },
    }),
  );
  let pieces = 0;
  try {
    for await (const r of createClient(Watch, t).watch(requests, { signal: AbortSignal.timeout(10_000) })) {
      if (r.created) continue;
      pieces++;
      if (!r.fragment) break;
    }
  } finally {
    requests.end();
  }
  return pieces;
}
