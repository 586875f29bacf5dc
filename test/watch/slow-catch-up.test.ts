import { afterEach, beforeAll, describe, expect, it } from "vitest";
import { Etcd, type WatchBatch, type Watcher } from "../../src/client/index.js";
import { createConnectNodeTransport } from "../../src/connect-node/index.js";
import { createGrpcJsTransport } from "../../src/grpc-js/index.js";
import { DEFAULT_ETCD_VERSION, type EtcdCluster } from "../../src/testing/index.js";
import { DiagnosticsRecorder } from "../support/diagnostics.js";
import { useEtcd } from "../support/etcd-fixture.js";
import { checkHistory, describeReport, HistoryRecorder, readHistory } from "../support/history.js";
import { callsStarted } from "../support/server-metrics.js";
import { until, within } from "../support/wait.js";

/**
 * etcd 3.4.31+, 3.5.13+, 3.6 and 3.7 drop a progress request while any watcher of the stream is still
 * catching up (etcd commit 6103504d4). A failpoint build with `beforeSyncWatchers=sleep(8000)` makes every
 * catch-up wait 8 s in silence, deterministically: the shared Watch stream must outlive it (its liveness
 * is the connection's, not progress answers), no watch may lose, repeat or reorder anything, and a
 * progress request made meanwhile must be answered once the catch-up ends. 3.4 has no failpoint build
 * (3.4.23 answers progress requests at once; see progress.test.ts): vitest.config.ts leaves this file
 * out of the 3.4 project.
 */
const LINE = process.env.ETCD_VERSION || DEFAULT_ETCD_VERSION;
const WATCH = "etcdserverpb.Watch/Watch";
/** Long enough that the old probe (idle 1 s, then 1 s for the answer) gave up several times over. */
const CATCH_UP = "sleep(8000)";
const enc = new TextEncoder();

describe(`a slow, silent catch-up (etcd ${LINE} with failpoints)`, () => {
  const env = useEtcd({ start: { version: LINE, failpoints: {} } });
  const { cleanups } = env;
  let etcd: EtcdCluster;
  let direct: Etcd;

  beforeAll(() => {
    etcd = env.cluster;
    direct = env.client();
  });
  afterEach(async () => {
    await etcd.members[0]!.setFailpoint("beforeSyncWatchers", undefined);
  });

  /**
   * The client under test: the stream settings of the fault suites (the old probe: 1 s idle + 1 s), on
   * the default transport (liveness by HTTP/2 PING) or grpc-js (by Status calls).
   */
  function client(leg: "default transport" | "grpc-js" = "default transport"): Etcd {
    const c = new Etcd({
      endpoints: [etcd.endpoint],
      streams: { idleTimeoutMs: 1000, probeTimeoutMs: 1000, backoff: { initialMs: 20, maxMs: 500 } },
      ...(leg === "grpc-js" ? { transport: (e) => createGrpcJsTransport({ baseUrl: e.url }) } : {}),
    });
    cleanups.push(() => c.close());
    return c;
  }

  function diagnostics(): DiagnosticsRecorder {
    const d = new DiagnosticsRecorder();
    cleanups.push(() => d.close());
    return d;
  }

  /** Writes `keys` under `prefix`, then unrelated keys: history a watch from the first revision replays. */
  async function history(prefix: string, keys: number): Promise<bigint> {
    let first = 0n;
    for (let i = 0; i < keys; i++) {
      const { revision } = await direct.put(`${prefix}k${i}`, `v${i}`);
      if (first === 0n) first = revision;
      await direct.put(`unrelated/${prefix}${i}`, "x");
    }
    return first;
  }

  /** Records `w`'s batches into `rec` and, in delivery order across watches, into `log`. */
  function follow(w: Watcher, name: string, rec: HistoryRecorder, log: string[]): void {
    w.on("batch", (b: WatchBatch) => {
      rec.record(b);
      log.push(b.progress ? `${name}:progress@${b.revision}` : `${name}:events@${b.revision}`);
    });
  }

  /** What the store holds for `prefix` from `from` to `to` (a fresh watch: owes nothing to the client). */
  async function stored(prefix: string, from: bigint, to: bigint) {
    const raw = createConnectNodeTransport({ baseUrl: etcd.endpoint });
    try {
      const key = enc.encode(prefix);
      const rangeEnd = key.slice();
      rangeEnd[rangeEnd.length - 1]!++;
      return await readHistory(raw, { key, rangeEnd, fromRevision: from, toRevision: to });
    } finally {
      await raw.close();
    }
  }

  for (const leg of ["default transport", "grpc-js"] as const)
    it(`${leg}: keeps the shared Watch stream through the catch-up; no watch loses, repeats or reorders`, async () => {
      const first = await history("slow/", 5);
      const c = client(leg);
      const seen = diagnostics();
      const log: string[] = [];
      const idleA = new HistoryRecorder();
      const idleB = new HistoryRecorder();
      const slow = new HistoryRecorder();
      const a = c.watch({ prefix: "idle-a/" });
      const b = c.watch({ prefix: "idle-b/" });
      follow(a, "a", idleA, log);
      follow(b, "b", idleB, log);
      await until("the idle watches active", () => a.state === "active" && b.state === "active");
      const streams = await callsStarted(etcd.endpoint, WATCH);

      await etcd.members[0]!.setFailpoint("beforeSyncWatchers", CATCH_UP);
      const s = c.watch({ prefix: "slow/" }, { startRevision: first });
      follow(s, "slow", slow, log);
      await until(
        "the slow watch's catch-up",
        () => slow.events.filter((e) => e.key.startsWith("slow/k")).length === 5,
        60_000,
      );
      await etcd.members[0]!.setFailpoint("beforeSyncWatchers", undefined);

      // Live events after the catch-up reach every watch, on the same stream.
      const end = [
        await direct.put("idle-a/after", "1"),
        await direct.put("idle-b/after", "1"),
        await direct.put("slow/after", "1"),
      ].map((r) => r.revision);
      await until(
        "the writes after the catch-up",
        () =>
          idleA.events.some((e) => e.revision === end[0]) &&
          idleB.events.some((e) => e.revision === end[1]) &&
          slow.events.some((e) => e.revision === end[2]),
      );

      const closes = seen.of("etcd-ts:stream:close", (e) => e.method === WATCH);
      expect(closes, "Watch streams the client closed").toEqual([]);
      expect(await callsStarted(etcd.endpoint, WATCH), "Watch streams etcd saw started").toBe(streams);
      for (const [prefix, rec, from, to] of [
        ["idle-a/", idleA, (await a.created) + 1n, end[0]!],
        ["idle-b/", idleB, (await b.created) + 1n, end[1]!],
        ["slow/", slow, first, end[2]!],
      ] as const) {
        const report = checkHistory(await stored(prefix, from, to), rec.events);
        expect(report.ok, `${prefix}: ${describeReport(report)}`).toBe(true);
      }
    }, 120_000);

  it("answers a progress request made during the catch-up once the catch-up ends", async () => {
    const first = await history("asked/", 3);
    const c = client();
    const seen = diagnostics();
    const log: string[] = [];
    const idle = new HistoryRecorder();
    const slow = new HistoryRecorder();
    const i = c.watch({ prefix: "asked-idle/" });
    follow(i, "idle", idle, log);
    await until("the idle watch active", () => i.state === "active");
    const streams = await callsStarted(etcd.endpoint, WATCH);

    await etcd.members[0]!.setFailpoint("beforeSyncWatchers", CATCH_UP);
    const s = c.watch({ prefix: "asked/" }, { startRevision: first });
    follow(s, "slow", slow, log);
    await until("the slow watch created", () => s.state === "active");
    const { revision: written } = await direct.put("asked-unrelated/last", "x");
    // etcd drops this request while the slow watch catches up; the client asks again until answered.
    c.requestWatchProgress();
    await until(
      "a progress notice on the idle watch",
      () => log.some((l) => l.startsWith("idle:progress@")),
      60_000,
    );

    // etcd answers only once every watcher of the stream is synced: the catch-up came first.
    const firstProgress = log.findIndex((l) => l.includes(":progress@"));
    const caughtUp = log.findIndex((l) => l.startsWith("slow:events@"));
    expect(caughtUp, log.join(", ")).toBeGreaterThanOrEqual(0);
    expect(caughtUp, log.join(", ")).toBeLessThan(firstProgress);
    expect(slow.events.filter((e) => e.key.startsWith("asked/k"))).toHaveLength(3);
    expect(BigInt(lastProgress(log))).toBeGreaterThanOrEqual(written);
    expect(seen.of("etcd-ts:stream:close", (e) => e.method === WATCH)).toEqual([]);
    expect(await callsStarted(etcd.endpoint, WATCH), "Watch streams etcd saw started").toBe(streams);
  }, 120_000);

  it("resolves a cache's waitForRevision for a write outside its range once the catch-up ends", async () => {
    const first = await history("cached-slow/", 3);
    const c = client();
    const cache = c.cache({ prefix: "cached/" });
    cleanups.push(() => cache.close());
    await cache.ready;
    await until("the cache live", () => cache.state === "live");
    const streams = await callsStarted(etcd.endpoint, WATCH);

    await etcd.members[0]!.setFailpoint("beforeSyncWatchers", CATCH_UP);
    const slow = new HistoryRecorder();
    const log: string[] = [];
    const s = c.watch({ prefix: "cached-slow/" }, { startRevision: first });
    follow(s, "slow", slow, log);
    await until("the slow watch created", () => s.state === "active");
    const { revision } = await direct.put("not-cached/x", "1");
    // The cache's progress request is dropped while the slow watch catches up, and asked again.
    const reached = await within(
      cache.waitForRevision(revision),
      "the cache confirming the revision",
      60_000,
    );
    expect(reached).toBeGreaterThanOrEqual(revision);
    // etcd answered only once every watcher of the stream was synced: the catch-up came first.
    expect(slow.events.filter((e) => e.key.startsWith("cached-slow/k"))).toHaveLength(3);
    expect(await callsStarted(etcd.endpoint, WATCH), "Watch streams etcd saw started").toBe(streams);
  }, 120_000);
});

/** The revision of the last progress notice in `log` ("" when none). */
function lastProgress(log: readonly string[]): string {
  const last = log.filter((l) => l.includes(":progress@")).pop();
  return last ? last.slice(last.indexOf("@") + 1) : "";
}
