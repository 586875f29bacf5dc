/**
 * `npm run bench:watch`: watches and leases, etcd-ts against `etcd3` in one run, one etcd member.
 * - events/s delivered to 1 and to 1,000 watchers (one prefix) under a put storm, and p50/p99
 *   put-to-event latency;
 * - client CPU of keeping leases alive (TTL 30 s): etcd-ts with 10,000 leases on its one shared stream,
 *   etcd3 with 1,000 (it opens a stream per lease), compared per 1,000 leases;
 * - memory per watcher (heap growth over 1,000 watchers, after GC).
 * The storms and the memory also run `gateway`: the same API over etcd's JSON gateway (a request per watch).
 * Writes bench/results/watch.json and the latency chart bench/results/watch.svg. Run under `node --expose-gc`
 * (the npm script does) for the memory figure.
 * BENCH_ONLY=watch1,watch1000,leases,memory runs only those phases and writes its own files, named after
 * them (e.g. watch-only-watch1-watch1000.json and .svg), so a short run never replaces the full run's record.
 */
import { writeFile } from "node:fs/promises";
import { cpus } from "node:os";
import { Etcd3, type Lease as Etcd3Lease } from "etcd3";
import { createGatewayTransport, Etcd, type EtcdOptions, type Lease } from "../src/index.js";
import { startEtcd } from "../src/testing/index.js";
import { latencyPercentiles, type StormResult as RecordedStorm, type WatchResults } from "./chart-specs.js";
import { writeWatchChart } from "./charts.js";

const STORM_PUTS_1 = Number(process.env.BENCH_STORM_PUTS ?? 5000);
const STORM_PUTS_1000 = Number(process.env.BENCH_STORM_PUTS_1000 ?? 300);
const LEASES_TS = Number(process.env.BENCH_LEASES ?? 10_000);
const LEASES_ETCD3 = Number(process.env.BENCH_LEASES_ETCD3 ?? 1000);
const LEASE_WINDOW_MS = Number(process.env.BENCH_LEASE_WINDOW_MS ?? 20_000);
const phases = ["watch1", "watch1000", "leases", "memory"] as const;
const only = process.env.BENCH_ONLY?.split(",");
const unknown = only?.filter((p) => !(phases as readonly string[]).includes(p)) ?? [];
if (unknown.length > 0)
  throw new Error(`BENCH_ONLY: unknown phase(s) ${unknown.join(", ")}; known: ${phases.join(", ")}`);
const runs = (phase: (typeof phases)[number]) => only === undefined || only.includes(phase);

type Sink = (key: string, value: Buffer | Uint8Array) => void;
interface WatchLib {
  name: string;
  watch(prefix: string, sink: Sink): Promise<() => Promise<void>>;
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
