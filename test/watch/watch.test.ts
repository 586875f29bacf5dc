import { create } from "@bufbuild/protobuf";
import { Code, createClient, type Transport } from "@connectrpc/connect";
import { describe, expect, it } from "vitest";
import { QueuedIterator } from "../../src/client/core/queued-iterator.js";
import {
  CompactedError,
  Etcd,
  type EtcdOptions,
  op,
  type WatchBatch,
  WatchCanceledError,
  WatchCompactedError,
  type Watcher,
} from "../../src/client/index.js";
import { Watch, type WatchRequest, WatchRequestSchema } from "../../src/gen/etcdserverpb/rpc_pb.js";
import { checkHistory, describeReport, HistoryRecorder, readHistory } from "../support/history.js";
import { HistoryLoad } from "../support/history-load.js";
import { useProxiedEtcd } from "../support/proxied-etcd.js";
import { callsStarted } from "../support/server-metrics.js";
import { until, within } from "../support/wait.js";

const enc = new TextEncoder();
const dec = new TextDecoder();
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Consumes `w` into a recorder until `stop(batch)` is true or the watch ends. */
function consume(w: Watcher, recorder: HistoryRecorder, stop: (b: WatchBatch) => boolean = () => false) {
  return (async () => {
    for await (const b of w) {
      recorder.record(b);
      if (stop(b)) return;
    }
  })();
}

/** Options of a client under test (its endpoint aside): `streams` sets its streams' liveness checks. */
type ClientOptions = Omit<EtcdOptions, "endpoints">;

describe("watches of new Etcd() against a real etcd", () => {
  const env = useProxiedEtcd({
    start: { args: ["--max-request-bytes=1100000"] },
    direct: { maxRequestBytes: 1_100_000 },
  });
  const { cleanups } = env;

  /** A client under test, as a user makes it; closed after the test. */
  function client(endpoint = env.cluster.endpoint, extra: ClientOptions = {}): Etcd {
    const c = new Etcd({ endpoints: [endpoint], ...extra });
    cleanups.push(() => c.close());
    return c;
  }

  const put = async (key: string, value: string | Uint8Array) => (await env.direct.put(key, value)).revision;

  it("delivers a prefix's events from now, in order, with their revisions", async () => {
    const c = client();
    const w = c.watch({ prefix: "basic/" });
    const rec = new HistoryRecorder();
    const done = consume(w, rec, () => rec.events.length >= 3);
    await until("active", () => w.state === "active", 10_000);
    const revs = [await put("basic/a", "1"), await put("other", "x"), await put("basic/b", "2")];
    await put("basic/c", "3");
    await within(done, "three events", 5000);
    expect(rec.events.map((e) => e.key)).toEqual(["basic/a", "basic/b", "basic/c"]);
    expect(rec.events[0]!.revision).toBe(revs[0]);
    expect(rec.events[1]!.revision).toBe(revs[2]);
    expect(w.nextRevision).toBe(rec.events[2]!.revision + 1n);
  });

  it("replays from startRevision with prevKv and filters", async () => {
    const first = await put("replay/a", "1");
    await put("replay/a", "2");
    await env.direct.delete("replay/a");
    const c = client();
    const w = c.watch("replay/a", { startRevision: first, prevKv: true, filters: ["noDelete"] });
    const batches: WatchBatch[] = [];
    const done = (async () => {
      for await (const b of w) {
        batches.push(b);
        if (batches.flatMap((x) => x.events).length >= 2) return;
      }
    })();
    await within(done, "replay", 5000);
    const events = batches.flatMap((b) => b.events);
    expect(events.map((e) => dec.decode(e.kv!.value))).toEqual(["1", "2"]);
    expect(dec.decode(events[1]!.prevKv!.value)).toBe("1");
    expect(events.every((e) => e.type === "put")).toBe(true);
  });

  it("runs every watch on ONE Watch stream; a create the server refuses fails that watch only", async () => {
    const streamsBefore = await callsStarted(env.cluster.endpoint, "etcdserverpb.Watch/Watch");
    const c = client();
    const good = [c.watch("one/a"), c.watch("one/b"), c.watch("one/c")];
    // An empty range (end before start): etcd answers created + canceled.
    const bad = c.watch({ key: "one/z", end: "one/a" });
    const last = c.watch("one/d");
    const err = await within(bad.closed, "bad watch closed", 5000);
    expect(err).toBeInstanceOf(WatchCanceledError);
    const recs = [...good, last].map(() => new HistoryRecorder());
    const dones = [...good, last].map((w, i) => consume(w, recs[i]!, () => true));
    for (const k of ["a", "b", "c", "d"]) await put(`one/${k}`, "v");
    await within(Promise.all(dones), "all four watches", 5000);
    expect(recs.map((r) => r.events[0]!.key)).toEqual(["one/a", "one/b", "one/c", "one/d"]);
    // What the server saw: one Watch stream for all five watches.
    expect(await callsStarted(env.cluster.endpoint, "etcdserverpb.Watch/Watch")).toBe(streamsBefore + 1);
  });

  it("resumes after cut streams from each watch's own revision: nothing lost, nothing twice", async () => {
    const streamsBefore = await callsStarted(env.cluster.endpoint, "etcdserverpb.Watch/Watch");
    const c = client(env.proxy.url);
    const start = (await put("cut/", "start")) + 1n;
    const watchers = [c.watch({ prefix: "cut/" }, { startRevision: start }), c.watch({ prefix: "cut/" })];
    const recs = watchers.map(() => new HistoryRecorder());
    const load = new HistoryLoad("cut/", () => env.direct);
    const dones = watchers.map((w, i) =>
      consume(w, recs[i]!, (b) => b.events.some((e) => dec.decode(e.kv!.key) === "cut/~end")),
    );
    await until("watches active", () => watchers.every((w) => w.state === "active"), 10_000);
    load.start(1);
    const CUTS = 10;
    // Each cut hits a live stream: the watches just delivered a write made after the previous cut, so
    // the client reopened the stream and resumed them.
    await env.cutBetweenMarkers("cut/", recs, CUTS, 20_000);
    await load.stop();
    const end = await load.sentinel();
    await within(Promise.all(dones), "sentinel", 20_000);
    // What the server saw: a new Watch stream after every cut.
    expect(await callsStarted(env.cluster.endpoint, "etcdserverpb.Watch/Watch")).toBeGreaterThanOrEqual(
      streamsBefore + CUTS + 1,
    );
    const expected = await readHistory(env.raw, {
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
    const c = client(env.proxy.url);
    const w = c.watch("compact/a");
    const rec = new HistoryRecorder();
    const done = consume(w, rec);
    await until("active", () => w.state === "active", 10_000);
    const first = await put("compact/a", "1");
    await until("first event", () => rec.events.length >= 1, 10_000);
    env.proxy.refuse(true);
    env.proxy.cut();
    await put("compact/a", "2");
    const third = await put("compact/a", "3");
    await env.direct.compact(third);
    env.proxy.refuse(false);
    await expect(within(done, "compacted", 10_000)).rejects.toBeInstanceOf(WatchCompactedError);
    const err = (await w.closed) as WatchCompactedError;
    expect(err.code).toBe(Code.OutOfRange);
    expect(err).toBeInstanceOf(CompactedError);
    expect(err.compactRevision).toBe(third);
    expect(err.requestedRevision).toBe(first + 1n);
    expect(rec.events.map((e) => e.revision)).toEqual([first]);
  });

  it('with onCompacted: "resync" re-reads the range and goes on', async () => {
    const c = client(env.proxy.url);
    const w = c.watch({ prefix: "resync/" }, { onCompacted: "resync" });
    const batches: WatchBatch[] = [];
    const done = (async () => {
      for await (const b of w) {
        batches.push(b);
        if (b.events.some((e) => dec.decode(e.kv!.key) === "resync/after")) return;
      }
    })();
    await until("active", () => w.state === "active", 10_000);
    env.proxy.refuse(true);
    env.proxy.cut();
    await put("resync/a", "1");
    const rev = await put("resync/b", "2");
    await env.direct.compact(rev);
    env.proxy.refuse(false);
    // Active again after the resync batch (before it, "active" may be the doomed create at the old revision).
    await until("resynced and active", () => batches.some((b) => b.resync) && w.state === "active", 10_000);
    const after = await put("resync/after", "3");
    await within(done, "resync", 10_000);
    const resync = batches.find((b) => b.resync);
    expect(resync?.resync?.map((kv) => dec.decode(kv.key))).toEqual(["resync/a", "resync/b"]);
    const last = batches[batches.length - 1]!;
    expect(last.events[0]!.kv!.modRevision).toBe(after);
  });

  it("bounds a slow consumer's buffer by pausing its watch, then resumes without loss", async () => {
    const c = client();
    const start = (await put("slow/", "start")) + 1n;
    const slow = c.watch({ prefix: "slow/" }, { startRevision: start, maxBufferedEvents: 40 });
    const fast = c.watch({ prefix: "slow/" }, { startRevision: start, maxBufferedEvents: 40 });
    const fastRec = new HistoryRecorder();
    const fastDone = consume(fast, fastRec, (b) =>
      b.events.some((e) => dec.decode(e.kv!.key) === "slow/~end"),
    );
    const load = new HistoryLoad("slow/", () => env.direct);
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
      await sleep(5);
    }
    await load.stop();
    const end = await load.sentinel();
    await within(fastDone, "fast watcher", 10_000);
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
    await within(
      consume(slow, slowRec, (b) => {
        drained.push(b.events.length);
        return b.events.some((e) => dec.decode(e.kv!.key) === "slow/~end");
      }),
      "slow drains",
      20_000,
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
    const expected = await readHistory(env.raw, {
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
    const c = client();
    // 5 x 200 KB in one txn: the events with their prevKvs (2 MB) exceed what etcd sends in one response
    // (--max-request-bytes 1.1 MB + 512 KiB of gRPC overhead allowance).
    const txn = (v: number) =>
      env.direct
        .txn()
        .onSuccess(...[0, 1, 2, 3, 4].map((i) => op.put(`frag/${i}`, new Uint8Array(200_000).fill(v))))
        .commit();
    await txn(1);
    const w = c.watch({ prefix: "frag/" }, { prevKv: true, fragment: true });
    const batches: WatchBatch[] = [];
    const done = (async () => {
      for await (const b of w) {
        batches.push(b);
        if (b.events.length > 0) return;
      }
    })();
    await until("active", () => w.state === "active", 10_000);
    const rev = (await txn(2)).revision;
    await within(done, "fragmented batch", 10_000);
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
    const pieces = await rawResponsesAt(env.raw, "frag/", rev);
    expect(pieces).toBeGreaterThan(1);
  });

  it("has an event-emitter face, and requestWatchProgress() never moves the resume point", async () => {
    const c = client();
    const w = c.watch("emit/a");
    const got: WatchBatch[] = [];
    w.on("batch", (b) => got.push(b));
    const ended = new Promise<void>((r) => w.once("close", () => r()));
    await until("active", () => w.state === "active", 10_000);
    const next = w.nextRevision;
    await put("other/x", "moves the store revision");
    c.requestWatchProgress();
    await until("progress", () => got.some((b) => b.progress), 5000);
    expect(got.find((b) => b.progress)!.revision).toBeGreaterThanOrEqual(next!);
    expect(w.nextRevision).toBe(next);
    const rev = await put("emit/a", "1");
    await until("event", () => got.some((b) => b.events.length > 0), 5000);
    expect(got.find((b) => b.events.length)!.events[0]!.kv!.modRevision).toBe(rev);
    expect(() => w[Symbol.asyncIterator]()).toThrow();
    await w.close();
    await within(ended, "close", 5000);
    expect(w.state).toBe("closed");
  });

  it("close() ends every watch cleanly and releases the stream", async () => {
    const c = client(env.proxy.url);
    const a = c.watch("close/a");
    const b = c.watch("close/b");
    await until("active", () => a.state === "active" && b.state === "active", 10_000);
    const consumed = consume(a, new HistoryRecorder());
    await c.close();
    await within(consumed, "iteration ends", 2000);
    expect(await a.closed).toBeUndefined();
    expect(await b.closed).toBeUndefined();
    expect([a.state, b.state]).toEqual(["closed", "closed"]);
    expect(() => c.watch("close/c")).toThrow();
    // Released and never reopened: the connection closes and nothing more reaches the env.proxy.
    await until("connection closed", () => env.proxy.connections === 0, 5000);
    const sent = env.proxy.bytesFromClients;
    await sleep(300);
    expect(env.proxy.bytesFromClients).toBe(sent);
    expect(env.proxy.connections).toBe(0);
  });

  it("checks a silent stream's connection with HTTP/2 PINGs spaced as etcd allows, delivering nothing", async () => {
    // No keepalive PINGs of the transport: while the watch is idle, what the server sends is the acks of
    // the stream's liveness checks. Asked every 150 ms, they still go out at most every 5.5 s: etcd
    // answers a third PING within its 5 s --grpc-keepalive-min-time with GOAWAY (too_many_pings), which
    // would end the stream (and this Watch stream count would grow).
    const c = client(env.proxy.url, {
      streams: { idleTimeoutMs: 150, probeTimeoutMs: 500 },
      keepaliveIntervalMs: 3_600_000,
    });
    const w = c.watch("probe/a");
    const got: WatchBatch[] = [];
    w.on("batch", (b) => got.push(b));
    await until("active", () => w.state === "active", 10_000);
    const streams = await callsStarted(env.cluster.endpoint, "etcdserverpb.Watch/Watch");
    let answers = 0;
    let seen = env.proxy.bytesFromServer;
    await until(
      "four PING acks",
      () => {
        if (env.proxy.bytesFromServer !== seen) {
          seen = env.proxy.bytesFromServer;
          answers++;
        }
        return answers >= 4;
      },
      60_000,
    );
    expect(got).toEqual([]);
    expect(w.state).toBe("active");
    expect(await callsStarted(env.cluster.endpoint, "etcdserverpb.Watch/Watch")).toBe(streams);
    c.requestWatchProgress();
    await until("requested progress", () => got.some((b) => b.progress), 5000);
    expect(got.filter((b) => b.progress)).toHaveLength(1);
  }, 90_000);

  it("sends a progress request made before the stream opened once its watches are created", async () => {
    const c = client();
    const a = c.watch("early/a");
    const b = c.watch("early/b");
    const got: string[] = [];
    a.on("batch", (batch) => got.push(`a:${batch.progress ? "progress" : "events"}`));
    b.on("batch", (batch) => got.push(`b:${batch.progress ? "progress" : "events"}`));
    // No stream is open yet: the request waits for it, and for both creates to be answered.
    c.requestWatchProgress();
    await until("progress on both", () => got.includes("a:progress") && got.includes("b:progress"), 10_000);
    expect([a.state, b.state]).toEqual(["active", "active"]);
  });
});

/** Counts raw responses of a plain fragmenting watch at `revision` (how many pieces the server sent). */
async function rawResponsesAt(t: Transport, prefix: string, revision: bigint): Promise<number> {
  const requests = new QueuedIterator<WatchRequest>();
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
