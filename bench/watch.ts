/**
 * `npm run bench:watch`: watches and leases, etcd-ts against `etcd3` in one run, one etcd member.
 * - events/s delivered to 1 and to 1,000 watchers (one prefix) under a put storm, and p50/p99
 *   put-to-event latency;
 * - client CPU of keeping leases alive (TTL 30 s): etcd-ts with 10,000 leases on its one shared stream,
 *   etcd3 with 1,000 (it opens a stream per lease), compared per 1,000 leases;
 * - memory per watcher (heap growth over 1,000 watchers, after GC);
 * - a watch trickle: client CPU per event of one watcher receiving one event per response, etcd-ts, etcd3
 *   and etcd's Go client (bench/go) in interleaved rounds, each watching its own prefix while a second
 *   bench/go process writes to it one put at a time (so no watcher's process pays for the writes). Needs Go
 *   (the writer is Go): without it, a line says so and the phase is left out.
 * The storms and the memory also run `gateway`: the same API over etcd's JSON gateway (a request per watch).
 * Writes bench/results/watch.json and the latency chart bench/results/watch.svg. Run under `node --expose-gc`
 * (the npm script does) for the memory figure.
 * BENCH_ONLY=watch1,watch1000,leases,memory,trickle runs only those phases and writes its own files, named after
 * them (e.g. watch-only-watch1-watch1000.json and .svg), so a short run never replaces the full run's record.
 */
import { writeFile } from "node:fs/promises";
import { cpus } from "node:os";
import { Etcd3, type Lease as Etcd3Lease } from "etcd3";
import { createGatewayTransport, Etcd, type EtcdOptions, type Lease } from "../src/index.js";
import { startEtcd } from "../src/testing/index.js";
import { latencyPercentiles, type StormResult as RecordedStorm, type WatchResults } from "./chart-specs.js";
import { writeWatchChart } from "./charts.js";
import { buildGoBench, GoBenchClient } from "./clients/go.js";

const STORM_PUTS_1 = Number(process.env.BENCH_STORM_PUTS ?? 5000);
const STORM_PUTS_1000 = Number(process.env.BENCH_STORM_PUTS_1000 ?? 300);
const LEASES_TS = Number(process.env.BENCH_LEASES ?? 10_000);
const LEASES_ETCD3 = Number(process.env.BENCH_LEASES_ETCD3 ?? 1000);
const LEASE_WINDOW_MS = Number(process.env.BENCH_LEASE_WINDOW_MS ?? 20_000);
/** Events of the trickle per client, split into BENCH_TRICKLE_ROUNDS interleaved rounds. */
const TRICKLE_EVENTS = Number(process.env.BENCH_TRICKLE_EVENTS ?? 20_000);
const TRICKLE_ROUNDS = Number(process.env.BENCH_TRICKLE_ROUNDS ?? 4);
const phases = ["watch1", "watch1000", "leases", "memory", "trickle"] as const;
const only = process.env.BENCH_ONLY?.split(",");
const unknown = only?.filter((p) => !(phases as readonly string[]).includes(p)) ?? [];
if (unknown.length > 0)
  throw new Error(`BENCH_ONLY: unknown phase(s) ${unknown.join(", ")}; known: ${phases.join(", ")}`);
const runs = (phase: (typeof phases)[number]) => only === undefined || only.includes(phase);

type Sink = (key: string, value: Buffer | Uint8Array) => void;
interface WatchLib {
  name: string;
  watch(prefix: string, sink: Sink): Promise<() => Promise<void>>;
  /**
   * A watch on `prefix` that reports each response's event count; resolves once the server created it
   * (the trickle's puts start then), with the function that closes it.
   */
  watchResponses(prefix: string, onResponse: (events: number) => void): Promise<() => Promise<void>>;
  put(key: string, value: string): Promise<void>;
  close(): Promise<void>;
}

/** The `Etcd` API: over the default transport, or (`gateway`) over etcd's JSON gateway (issue 23). */
function etcdTs(endpoint: string, name = "etcd-ts", options: Omit<EtcdOptions, "endpoints"> = {}): WatchLib {
  const etcd = new Etcd({ ...options, endpoints: [endpoint] });
  return {
    name,
    async watch(prefix, sink) {
      const w = etcd.watch({ prefix: prefix });
      w.on("batch", (b) => {
        for (const e of b.events) if (e.kv) sink("", e.kv.value);
      });
      return async () => w.close();
    },
    async watchResponses(prefix, onResponse) {
      const w = etcd.watch({ prefix });
      w.on("batch", (b) => onResponse(b.events.length));
      await w.created;
      return async () => w.close();
    },
    put: async (key, value) => {
      await etcd.put(key, value);
    },
    close: () => etcd.close(),
  };
}

function etcd3(endpoint: string): WatchLib {
  const client = new Etcd3({ hosts: endpoint });
  return {
    name: "etcd3",
    async watch(prefix, sink) {
      const w = await client.watch().prefix(prefix).create();
      w.on("put", (kv) => sink("", kv.value));
      return async () => w.cancel();
    },
    async watchResponses(prefix, onResponse) {
      const w = await client.watch().prefix(prefix).create();
      w.on("data", (res) => onResponse(res.events.length));
      return async () => w.cancel();
    },
    put: async (key, value) => {
      await client.put(key).value(value);
    },
    close: async () => client.close(),
  };
}

/** A storm as this script records it: always with its latency distribution. */
type StormResult = Required<RecordedStorm>;

async function storm(lib: WatchLib, watchers: number, puts: number, tag: string): Promise<StormResult> {
  const prefix = `bw/${tag}/`;
  const expected = watchers * puts;
  const latencies: number[] = [];
  let events = 0;
  let done!: () => void;
  const all = new Promise<void>((r) => {
    done = r;
  });
  const sink: Sink = (_k, value) => {
    events++;
    if (watchers === 1 || latencies.length < 200_000) {
      const sent = Number(Buffer.from(value).toString("utf8"));
      latencies.push(performance.now() - sent);
    }
    if (events === expected) done();
  };
  const cancels = [];
  for (let i = 0; i < watchers; i++) cancels.push(await lib.watch(prefix, sink));
  await new Promise((r) => setTimeout(r, 500));
  const t0 = performance.now();
  let next = 0;
  await Promise.all(
    Array.from({ length: 64 }, async () => {
      while (next < puts) {
        const i = next++;
        await lib.put(`${prefix}${i % 256}`, String(performance.now()));
      }
    }),
  );
  const timeout = setTimeout(done, 60_000);
  await all;
  clearTimeout(timeout);
  const elapsed = performance.now() - t0;
  await Promise.all(cancels.map((c) => c()));
  latencies.sort((a, b) => a - b);
  const pct = (p: number) =>
    Math.round((latencies[Math.floor((latencies.length - 1) * p)] ?? Number.NaN) * 100) / 100;
  return {
    watchers,
    puts,
    events,
    eventsPerSec: Math.round((events / elapsed) * 1000),
    p50Ms: pct(0.5),
    p99Ms: pct(0.99),
    latencyPercentilesMs: latencyPercentiles.map((p) => ({ percentile: p, ms: pct(p / 100) })),
  };
}

/** One client's share of the trickle: all its rounds added up. */
interface TrickleResult {
  events: number;
  /** Responses that carried events: events / responses is 1 when every event came alone. */
  responses: number;
  /** CPU (user + system) of the watcher's process, from the watch's creation to its last event, µs. */
  cpuUs: number;
  cpuUsPerEvent: number;
}

/** A watcher of the trickle, in this process or in Go's. */
interface TrickleWatcher {
  name: string;
  /** Opens the watch on `prefix`; resolves once created, when its CPU count starts. */
  start(prefix: string): Promise<void>;
  /** Waits for `events` events, closes the watch, and says what it cost. */
  finish(events: number): Promise<Omit<TrickleResult, "cpuUsPerEvent">>;
}

/** Generous: a trickle of 5,000 puts takes a few seconds; this only catches a stall. */
const TRICKLE_TIMEOUT_MS = 300_000;

/** A watcher of this process: its CPU is the whole process's, so only one runs at a time. */
function inProcessWatcher(lib: WatchLib): TrickleWatcher {
  let close: (() => Promise<void>) | undefined;
  let cpu0: NodeJS.CpuUsage | undefined;
  let events = 0;
  let responses = 0;
  let wanted = Number.POSITIVE_INFINITY;
  let reached: (() => void) | undefined;
  return {
    name: lib.name,
    async start(prefix) {
      events = 0;
      responses = 0;
      wanted = Number.POSITIVE_INFINITY;
      close = await lib.watchResponses(prefix, (n) => {
        if (n === 0) return;
        events += n;
        responses++;
        if (events >= wanted) reached?.();
      });
      cpu0 = process.cpuUsage();
    },
    async finish(count) {
      wanted = count;
      if (events < count) {
        let timer: NodeJS.Timeout | undefined;
        await new Promise<void>((resolve, reject) => {
          reached = resolve;
          timer = setTimeout(
            () => reject(new Error(`${lib.name}: ${events} of ${count} trickle events`)),
            TRICKLE_TIMEOUT_MS,
          );
        }).finally(() => clearTimeout(timer));
      }
      const cpu = process.cpuUsage(cpu0);
      await close?.();
      return { events, responses, cpuUs: cpu.user + cpu.system };
    },
  };
}

/** Go's client as a trickle watcher: bench/go counts its own events and CPU. */
function goWatcher(go: GoBenchClient): TrickleWatcher {
  return {
    name: "go",
    start: (prefix) => go.watchStart(prefix),
    async finish(count) {
      const r = await go.watchWait(count, TRICKLE_TIMEOUT_MS);
      return { events: r.events, responses: r.responses, cpuUs: r.cpuUs };
    },
  };
}

/**
 * The trickle: per round and watcher (in turn, each round starting with another), a watch on a prefix of its
 * own, then `perRound` puts to it from `writer`, one at a time, then the watcher's CPU until the last event.
 */
async function trickle(
  watchers: TrickleWatcher[],
  writer: GoBenchClient,
  events: number,
  rounds: number,
): Promise<Record<string, TrickleResult>> {
  const perRound = Math.ceil(events / rounds);
  const totals = new Map(watchers.map((w) => [w.name, { events: 0, responses: 0, cpuUs: 0 }]));
  for (let round = 0; round < rounds; round++) {
    for (let k = 0; k < watchers.length; k++) {
      const watcher = watchers[(k + round) % watchers.length]!;
      const prefix = `bt/${watcher.name}/${round}/`;
      await watcher.start(prefix);
      const [r] = await Promise.all([
        watcher.finish(perRound),
        writer.putTrickle(prefix, perRound, TRICKLE_TIMEOUT_MS),
      ]);
      const t = totals.get(watcher.name)!;
      t.events += r.events;
      t.responses += r.responses;
      t.cpuUs += r.cpuUs;
    }
  }
  return Object.fromEntries(
    [...totals].map(([name, t]) => [
      name,
      { ...t, cpuUsPerEvent: Math.round((t.cpuUs / Math.max(t.events, 1)) * 10) / 10 },
    ]),
  );
}

async function leaseCpu(name: string, endpoint: string, count: number): Promise<Record<string, number>> {
  let closeAll: () => Promise<void>;
  if (name === "etcd-ts") {
    const etcd = new Etcd({ endpoints: [endpoint] });
    const leases: Lease[] = [];
    let next = 0;
    await Promise.all(
      Array.from({ length: 64 }, async () => {
        while (next++ < count) leases.push(await etcd.lease.grant(30));
      }),
    );
    closeAll = async () => {
      await Promise.all(leases.map((l) => l.revoke().catch(() => {})));
      await etcd.close();
    };
  } else {
    const client = new Etcd3({ hosts: endpoint });
    const leases: Etcd3Lease[] = [];
    for (let i = 0; i < count; i++) {
      const l = client.lease(30);
      l.on("lost", () => {});
      leases.push(l);
    }
    await Promise.all(leases.map((l) => l.grant()));
    closeAll = async () => {
      await Promise.all(leases.map((l) => l.revoke().catch(() => {})));
      client.close();
    };
  }
  await new Promise((r) => setTimeout(r, 2000));
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  await new Promise((r) => setTimeout(r, LEASE_WINDOW_MS));
  const cpu = process.cpuUsage(cpu0);
  const elapsedMs = performance.now() - t0;
  await closeAll();
  const percentOfCore = ((cpu.user + cpu.system) / 1000 / elapsedMs) * 100;
  return {
    leases: count,
    percentOfOneCore: Math.round(percentOfCore * 100) / 100,
    percentPer1000Leases: Math.round((percentOfCore / count) * 1000 * 1000) / 1000,
  };
}

async function memoryPerWatcher(lib: WatchLib, n: number): Promise<number> {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (!gc) return Number.NaN;
  // Let what earlier phases closed finish closing first (a client ends its watch stream when the last
  // watch closes, and the stream's buffers are freed asynchronously): otherwise they are freed between
  // the two readings and the difference can even come out negative.
  await new Promise((r) => setTimeout(r, 1000));
  gc();
  gc();
  const before = process.memoryUsage().heapUsed;
  const cancels = [];
  for (let i = 0; i < n; i++) cancels.push(await lib.watch(`bm/${i}/`, () => {}));
  await new Promise((r) => setTimeout(r, 500));
  gc();
  const after = process.memoryUsage().heapUsed;
  await Promise.all(cancels.map((c) => c()));
  return Math.round((after - before) / n);
}

async function main(): Promise<void> {
  const external = process.env.ETCD_ENDPOINTS?.split(",")[0];
  const cluster = external ? undefined : await startEtcd();
  const endpoint = external ?? cluster!.endpoint;
  const out: Record<string, unknown> = {
    measuredAt: new Date().toISOString(),
    node: process.version,
    cores: cpus().length,
    ...(only && { only }),
  };
  try {
    const gateway = etcdTs(endpoint, "gateway", {
      transport: (ep) => createGatewayTransport({ baseUrl: ep.url }),
    });
    const libs = [etcdTs(endpoint), gateway, etcd3(endpoint)];
    const storms: Record<string, Record<string, StormResult>> = {};
    if (runs("watch1")) storms.watch1 = {};
    if (runs("watch1000")) storms.watch1000 = {};
    const memory: Record<string, number> = {};
    for (const lib of libs) {
      if (storms.watch1) storms.watch1[lib.name] = await storm(lib, 1, STORM_PUTS_1, `${lib.name}-1`);
      if (storms.watch1000) {
        storms.watch1000[lib.name] = await storm(lib, 1000, STORM_PUTS_1000, `${lib.name}-1000`);
      }
      if (runs("memory")) memory[lib.name] = await memoryPerWatcher(lib, 1000);
    }
    if (runs("trickle")) {
      const go = await buildGoBench();
      if ("missing" in go) {
        console.log(`\n${go.missing}: the watch trickle (its writer is Go) is left out`);
        out.trickle = { skipped: go.missing };
      } else {
        const goWatch = await GoBenchClient.start(go.binary, endpoint);
        const writer = await GoBenchClient.start(go.binary, endpoint, "go-writer");
        try {
          const watchers = [...libs.map(inProcessWatcher), goWatcher(goWatch)];
          const rows = await trickle(watchers, writer, TRICKLE_EVENTS, TRICKLE_ROUNDS);
          out.trickle = { goClient: goWatch.goClient, ...rows };
          console.log(
            `\nwatch trickle: ${TRICKLE_EVENTS} events per client, one put at a time, ${TRICKLE_ROUNDS} interleaved rounds; client CPU per event`,
          );
          for (const [name, r] of Object.entries(rows)) {
            const x = (base: string) =>
              rows[base] ? (r.cpuUsPerEvent / rows[base]!.cpuUsPerEvent).toFixed(2) : "-";
            console.log(
              `${name.padEnd(10)} ${r.cpuUsPerEvent.toFixed(1).padStart(7)} µs/event  x${x("etcd3")} etcd3  x${x("go")} go  (${r.events} events in ${r.responses} responses)`,
            );
          }
        } finally {
          await Promise.all([goWatch.close(), writer.close()]);
        }
      }
    }
    await Promise.all(libs.map((l) => l.close()));
    const leases: Record<string, Record<string, number>> = {};
    if (runs("leases")) {
      leases["etcd-ts"] = await leaseCpu("etcd-ts", endpoint, LEASES_TS);
      leases.etcd3 = await leaseCpu("etcd3", endpoint, LEASES_ETCD3);
    }
    Object.assign(out, storms);
    if (runs("leases")) out.leaseKeepAlive = leases;
    if (runs("memory")) out.bytesPerWatcher = memory;
    for (const [name, rows] of Object.entries(storms)) {
      console.log(`\n${name} (events delivered to all watchers; latency put -> event)`);
      for (const [lib, r] of Object.entries(rows)) {
        const ratio = (r.eventsPerSec / rows.etcd3!.eventsPerSec).toFixed(2);
        console.log(
          `${lib.padEnd(10)} ${String(r.eventsPerSec).padStart(9)} events/s (x${ratio} etcd3)  p50 ${r.p50Ms} ms  p99 ${r.p99Ms} ms  (${r.events}/${r.watchers * r.puts} events)`,
        );
      }
    }
    if (runs("leases")) console.log("\nlease keepalive, TTL 30 s: client CPU");
    for (const [lib, r] of Object.entries(leases)) {
      console.log(
        `${lib.padEnd(10)} ${r.leases} leases: ${r.percentOfOneCore}% of one core (${r.percentPer1000Leases}% per 1,000 leases)`,
      );
    }
    if (runs("memory")) {
      console.log(
        `\nheap per watcher: ${Object.entries(memory)
          .map(([k, v]) => `${k} ${v} B`)
          .join(", ")}`,
      );
    }
  } finally {
    await cluster?.close();
  }
  const stem = only === undefined ? "watch" : `watch-only-${only.join("-")}`;
  await writeFile(new URL(`./results/${stem}.json`, import.meta.url), `${JSON.stringify(out, null, 2)}\n`);
  console.log(`\nwrote bench/results/${stem}.json`);
  const chart = await writeWatchChart(stem, out as unknown as WatchResults);
  if (chart) console.log(`wrote ${chart}`);
}

await main();
