import { describe, expect, it } from "vitest";
import { createGatewayTransport, Etcd, type Watcher } from "../../src/client/index.js";
import { checkHistory, describeReport, HistoryRecorder, readHistory } from "../support/history.js";
import { HistoryLoad } from "../support/history-load.js";
import { useProxiedEtcd } from "../support/proxied-etcd.js";
import { until, within } from "../support/wait.js";

// Watches over etcd's JSON gateway across breaks (issue 23): each watch is its own HTTP request, and a
// request that breaks fails the emulated Watch stream, so the client reopens it and re-creates every
// watch from its own next revision. The history checker compares what each watcher delivered with the
// store's own history (read over gRPC by a plain stream): every revision once, in order.
const enc = new TextEncoder();
const dec = new TextDecoder();

const env = useProxiedEtcd();
const { cleanups } = env;

/** Requests each gateway path got from the clients under test (the injected `fetch` counts them). */
const requests = new Map<string, number>();
const countingFetch = (input: string, init: RequestInit) => {
  const path = new URL(input).pathname;
  requests.set(path, (requests.get(path) ?? 0) + 1);
  return fetch(input, init);
};

/** A client over the gateway at `url`, reconnecting fast; closed after the test. */
function gatewayClient(url: string): Etcd {
  const c = new Etcd({
    endpoints: [url],
    transport: (ep) => createGatewayTransport({ baseUrl: ep.url, fetch: countingFetch }),
    streams: { backoff: { initialMs: 20, maxMs: 300 } },
  });
  cleanups.push(() => c.close());
  return c;
}

/** Records `w` until it delivers the history's sentinel key. */
function consume(w: Watcher, recorder: HistoryRecorder, prefix: string): Promise<void> {
  return (async () => {
    for await (const b of w) {
      recorder.record(b);
      if (b.events.some((e) => dec.decode(e.kv.key) === `${prefix}~end`)) return;
    }
  })();
}

/** The store's history of `prefix` from `start` to `end`, over a plain gRPC stream. */
function storeHistory(prefix: string, start: bigint, end: bigint) {
  const last = prefix.charCodeAt(prefix.length - 1);
  return readHistory(env.raw, {
    key: enc.encode(prefix),
    rangeEnd: enc.encode(prefix.slice(0, -1) + String.fromCharCode(last + 1)),
    fromRevision: start,
    toRevision: end,
  });
}

describe("watches over the gateway across breaks", { timeout: 120_000 }, () => {
  it("resumes after gateway cuts from each watch's own revision: nothing lost, nothing twice", async () => {
    const prefix = "cut/";
    const c = gatewayClient(env.proxy.url);
    const start = (await env.direct.put(prefix, "start")).revision + 1n;
    const watchers = [
      c.watch({ prefix }, { startRevision: start }),
      c.watch({ prefix }, { startRevision: start }),
    ];
    const recs = watchers.map(() => new HistoryRecorder());
    const dones = watchers.map((w, i) => consume(w, recs[i]!, prefix));
    await until("watches active", () => watchers.every((w) => w.state === "active"));
    const load = new HistoryLoad(prefix, () => env.direct);
    load.start(1);
    const watchRequestsBefore = requests.get("/v3/watch") ?? 0;
    const CUTS = 8;
    // Each cut hits live requests: the watches just delivered a write made after the previous cut.
    await env.cutBetweenMarkers(prefix, recs, CUTS, 30_000);
    await load.stop();
    const end = await load.sentinel();
    await within(Promise.all(dones), "the sentinel through every watch", 30_000);
    // Every cut broke the watches' requests: each was re-created with a new request after each cut.
    expect((requests.get("/v3/watch") ?? 0) - watchRequestsBefore).toBeGreaterThanOrEqual(
      CUTS * watchers.length,
    );
    const expected = await storeHistory(prefix, start, end);
    expect(expected.length).toBeGreaterThan(50);
    for (const rec of recs) {
      const report = checkHistory(expected, rec.upTo(end));
      expect(report.ok, describeReport(report)).toBe(true);
    }
  });

  it("resumes after the member restarts: nothing lost, nothing twice, in order", async () => {
    const prefix = "restart/";
    const c = gatewayClient(env.cluster.endpoint);
    const start = (await env.direct.put(prefix, "start")).revision + 1n;
    const w = c.watch({ prefix }, { startRevision: start });
    const rec = new HistoryRecorder();
    const done = consume(w, rec, prefix);
    await until("watch active", () => w.state === "active");
    const load = new HistoryLoad(prefix, () => env.direct);
    load.start(1);
    await until("events before the restart", () => rec.events.length >= 20);
    await env.cluster.members[0]!.restart();
    // The watch delivers writes made after the restart: it resumed on the restarted member.
    const after = (await env.direct.put(`${prefix}!after`, "", { timeoutMs: 10_000 })).revision;
    await until(
      "an event written after the restart",
      () => rec.events.some((e) => e.revision >= after),
      30_000,
    );
    await load.stop();
    const end = await load.sentinel();
    await within(done, "the sentinel", 30_000);
    const expected = await storeHistory(prefix, start, end);
    const report = checkHistory(expected, rec.upTo(end));
    expect(report.ok, describeReport(report)).toBe(true);
    // The history was not empty: 20 events before the restart and the one written after it. (It asserted
    // on the load's acknowledged writes, a count that depends on how many answers the restart cut short.)
    expect(rec.upTo(end).length).toBeGreaterThan(20);
  });

  it("a lease kept alive through a gateway cut stays alive; a revoked one is lost", async () => {
    const c = gatewayClient(env.proxy.url);
    const kept = await c.lease.grant(3);
    const revoked = await c.lease.grant(6);
    let refreshes = 0;
    kept.on("keepalive", () => refreshes++);
    await until("a refresh", () => refreshes >= 1);
    env.proxy.cut();
    const before = refreshes;
    await until("refreshes after the cut", () => refreshes >= before + 2, 30_000);
    expect((await env.direct.lease.timeToLive(kept.id)).ttl).toBeGreaterThan(0);
    await env.direct.lease.revoke(revoked.id);
    const lost = await within(revoked.closed, "the revoked lease to be lost");
    expect(lost?.name).toBe("LeaseLostError");
    expect(kept.state).not.toBe("closed");
  });
});
