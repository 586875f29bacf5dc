/**
 * `npm run bench:scale`: what etcd-ts costs as the work grows, with etcd3 in the same run where etcd3 has
 * the feature, against one etcd member (a throwaway one from the test kit unless ETCD_ENDPOINTS is set).
 * Under 10 minutes. Writes bench/results/scale.json and the chart bench/results/scale.svg.
 * - Leases (TTL 30 s) kept alive: each client ALONE in a process of its own, bundled with esbuild (tsx's
 *   loader adds about 50 MiB of RSS), so its RSS is its own: etcd-ts at 1,000, 10,000 and 100,000 leases,
 *   etcd3 at 1,000 (it opens a stream per lease), compared per lease: CPU per lease per second. The
 *   compared pair (etcd-ts 10,000, etcd3 1,000) runs twice, each time both processes at once, so both
 *   see the same machine load in the same window.
 * - One watcher under a put storm: `bench/watch.ts` (BENCH_ONLY=watch1) three times, median ratios.
 * - Idle watches on one stream at 1,000, 10,000 and 100,000: heap per watch, and the cost of a resume
 *   after every connection is cut (a FaultProxy between client and member): time until all are active
 *   again, CPU spent.
 * - Put and Range at 64 in flight: `bench/run.ts` with rounds of 3 s, etcd-ts, etcd3 and the bare
 *   node:http2 floor; the CPU ratio of each round as well as of the whole.
 * - CPU profiles of the Put@64 loop and of 10,000 kept leases: top frames by self time.
 * - The watch cache: `bench/cache.ts` (1,000, 10,000 and 100,000 entries) when it exists; else null.
 * The load average is recorded around every phase: the machine may be shared.
 * BENCH_ONLY=leases,watch1,watches,unary,cache runs only those phases and writes
 * bench/results/partial-scale.json and .svg instead (git ignores them).
 */
import { type ChildProcess, spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdir, readFile, writeFile } from "node:fs/promises";
import { cpus, loadavg } from "node:os";
import { createInterface } from "node:readline";
import { build } from "esbuild";
import { FaultProxy, startEtcd } from "../src/testing/index.js";
import type { ScaleResults } from "./chart-specs.js";
import { writeScaleChart } from "./charts.js";
import type { LeaseChildResult } from "./lease-child.js";
import type { Measurement } from "./measure.js";
import type { TopFrame } from "./profile.js";
import type { IdleWatchResult, ResumeResult } from "./watch-scale-child.js";

const here = new URL(".", import.meta.url).pathname;
const buildDir = `${here}.build`;
const SIZES = (process.env.BENCH_SCALE_SIZES ?? "1000,10000,100000").split(",").map(Number);
const phases = ["leases", "watch1", "watches", "unary", "cache"] as const;
const only = process.env.BENCH_ONLY?.split(",");
const unknown = only?.filter((p) => !(phases as readonly string[]).includes(p)) ?? [];
if (unknown.length > 0)
  throw new Error(`BENCH_ONLY: unknown phase(s) ${unknown.join(", ")}; known: ${phases.join(", ")}`);
const runs = (phase: (typeof phases)[number]) => only === undefined || only.includes(phase);
/** Settle and window of the 10,000-lease runs, whose RSS is reported: V8 gives back what the burst of grants grew its heap by some 35-40 s later. */
const LEASE_SETTLE_MS = Number(process.env.BENCH_LEASE_SETTLE_MS ?? 45_000);
const LEASE_WINDOW_MS = Number(process.env.BENCH_LEASE_WINDOW_MS ?? 25_000);
const load = () => loadavg().map((l) => Math.round(l * 100) / 100);
const round = (n: number, digits = 2) => Math.round(n * 10 ** digits) / 10 ** digits;
/** The median; of an even count, the mean of the middle two. */
function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 === 1 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

/** Runs `node [flags] file args`, returns stdout's JSON lines; stderr passes through. */
async function runNode(
  flags: string[],
  file: string,
  args: string[],
  env: Record<string, string> = {},
): Promise<unknown[]> {
  const child = spawn(process.execPath, [...flags, file, ...args], {
    stdio: ["ignore", "pipe", "inherit"],
    env: { ...process.env, ...env },
  });
  const lines: unknown[] = [];
  createInterface({ input: child.stdout! }).on("line", (l) => {
    if (l.startsWith("{")) lines.push(JSON.parse(l));
    else console.log(`  ${l}`);
  });
  await exited(child, file);
  return lines;
}

function exited(child: ChildProcess, what: string): Promise<void> {
  return new Promise((resolve, reject) =>
    child.once("exit", (code, signal) =>
      code === 0 ? resolve() : reject(new Error(`${what} exited with ${code ?? signal}`)),
    ),
  );
}

async function bundleChildren(): Promise<void> {
  await mkdir(buildDir, { recursive: true });
  await build({
    entryPoints: ["lease-child.ts", "unary-profile.ts", "watch-scale-child.ts"].map((f) => `${here}${f}`),
    bundle: true,
    splitting: true,
    platform: "node",
    format: "esm",
    packages: "external",
    outdir: buildDir,
    logLevel: "warning",
  });
}

async function leaseRun(
  client: string,
  endpoint: string,
  leases: number,
  settleMs: number,
  windowMs: number,
  profile?: string,
): Promise<LeaseChildResult> {
  const [result] = await runNode([], `${buildDir}/lease-child.js`, [
    client,
    endpoint,
    String(leases),
    String(settleMs),
    String(windowMs),
    ...(profile ? [profile] : []),
  ]);
  const r = result as LeaseChildResult;
  console.log(
    `  ${client} ${leases} leases: ${r.percentOfOneCore}% of one core, ${r.cpuUsPerLeaseSecond} µs per lease-second, RSS ${r.rssMiB} MiB (peak ${r.rssPeakMiB}), load ${r.loadAverage[0]}`,
  );
  return r;
}

async function leases(endpoint: string) {
  console.log("leases (TTL 30 s), each client alone in a bundled process");
  // The compared pair twice, both processes at once: the same load, the same window. etcd3 starts 3 s
  // later, so the two bursts of grants do not coincide (both windows start after the same settle).
  const pair = () =>
    Promise.all([
      leaseRun("etcd-ts", endpoint, 10_000, LEASE_SETTLE_MS, LEASE_WINDOW_MS),
      new Promise((r) => setTimeout(r, 3000)).then(() =>
        leaseRun("etcd3", endpoint, 1000, LEASE_SETTLE_MS - 3000, LEASE_WINDOW_MS),
      ),
    ]);
  const [ts1, e1] = await pair();
  const [ts2, e2] = await pair();
  const bySize: Record<string, LeaseChildResult> = {};
  // The other sizes at once too (after the same settle, so their RSS is as steady as the 10,000's).
  const others = SIZES.filter((n) => n !== 10_000);
  const otherRuns = await Promise.all(
    others.map((n) => leaseRun("etcd-ts", endpoint, n, LEASE_SETTLE_MS, 15_000)),
  );
  others.forEach((n, i) => {
    bySize[n] = otherRuns[i]!;
  });
  bySize[10_000] = ts1;
  const perLease = median([ts1.cpuUsPerLeaseSecond, ts2.cpuUsPerLeaseSecond]);
  const perLeaseEtcd3 = median([e1.cpuUsPerLeaseSecond, e2.cpuUsPerLeaseSecond]);
  const profiled = await leaseRun(
    "etcd-ts",
    endpoint,
    10_000,
    5000,
    10_000,
    `${buildDir}/leases10k.cpuprofile`,
  );
  return {
    summary: {
      percentOfOneCore: round(median([ts1.percentOfOneCore, ts2.percentOfOneCore])),
      cpuPerLeaseRatioVsEtcd3: round(perLease / perLeaseEtcd3),
      rssMiB: round(median([ts1.rssMiB, ts2.rssMiB]), 1),
      rssPeakMiB: Math.max(ts1.rssPeakMiB, ts2.rssPeakMiB),
      cpuUsPerLeaseSecond: round(perLease, 3),
      etcd3CpuUsPerLeaseSecond: round(perLeaseEtcd3, 3),
      etcd3RssMiBAt1000: round(median([e1.rssMiB, e2.rssMiB]), 1),
      runs: [ts1, ts2],
      etcd3Runs: [e1, e2],
    },
    bySize,
    topFrames: profiled.topFrames ?? [],
  };
}

async function watch1(endpoint: string) {
  console.log("one watcher under a put storm: bench/watch.ts BENCH_ONLY=watch1, three runs");
  const ratios: { events: number; p99: number; load: number[] }[] = [];
  const runs = [];
  for (let i = 0; i < 3; i++) {
    await runNode(["--expose-gc", "--import", "tsx"], `${here}watch.ts`, [], {
      BENCH_ONLY: "watch1",
      ETCD_ENDPOINTS: endpoint,
    });
    const r = JSON.parse(await readFile(`${here}results/watch-only-watch1.json`, "utf8"));
    const ts = r.watch1["etcd-ts"];
    const e3 = r.watch1.etcd3;
    runs.push(r.watch1);
    ratios.push({ events: ts.eventsPerSec / e3.eventsPerSec, p99: ts.p99Ms / e3.p99Ms, load: load() });
  }
  return {
    eventsPerSecRatioVsEtcd3: round(median(ratios.map((r) => r.events))),
    p99RatioVsEtcd3: round(median(ratios.map((r) => r.p99))),
    ratiosPerRun: ratios.map((r) => ({ events: round(r.events), p99: round(r.p99), loadAverage: r.load })),
    runs,
  };
}

async function idleWatches(endpoint: string) {
  console.log("idle watches on one stream; resume after a cut");
  const out: Record<string, IdleWatchResult & ResumeResult> = {};
  for (const n of SIZES) {
    const proxy = await FaultProxy.start(endpoint);
    try {
      const child = spawn(
        process.execPath,
        ["--expose-gc", `${buildDir}/watch-scale-child.js`, proxy.url, String(n)],
        { stdio: ["pipe", "pipe", "inherit"] },
      );
      const lines = createInterface({ input: child.stdout! });
      const results: unknown[] = [];
      const done = exited(child, "watch-scale-child");
      await new Promise<void>((resolve, reject) => {
        done.catch(reject);
        lines.on("line", (l) => {
          if (!l.startsWith("{")) return;
          results.push(JSON.parse(l));
          if (results.length === 1) {
            proxy.cut();
            child.stdin!.write("cut\n");
          } else resolve();
        });
      });
      await done;
      out[n] = { ...(results[0] as IdleWatchResult), ...(results[1] as ResumeResult) };
      const r = out[n]!;
      console.log(
        `  ${n} watches: ${r.heapBytesPerWatch} B heap each, RSS ${r.rssMiB} MiB; resume ${r.resumeMs} ms, ${r.resumeCpuMs} ms CPU (${r.resumeCpuUsPerWatch} µs per watch), load ${r.loadAverage[0]}`,
      );
    } finally {
      await proxy.close();
    }
  }
  return out;
}

async function unary(endpoint: string) {
  console.log("Put and Range at 64 in flight: bench/run.ts, 5 interleaved rounds of 3 s");
  const roundsOut = `${buildDir}/unary-rounds.json`;
  await runNode(["--import", "tsx"], `${here}run.ts`, [], {
    ETCD_ENDPOINTS: endpoint,
    BENCH_ONLY: "put64,range64",
    BENCH_CLIENTS: "etcd-ts,etcd3,bare-http2 (reference)",
    BENCH_DURATION_MS: "15000",
    BENCH_ROUNDS: "5",
    BENCH_ROUNDS_OUT: roundsOut,
  });
  const r = JSON.parse(await readFile(roundsOut, "utf8")) as Record<string, Record<string, Measurement[]>>;
  const scenario = (name: string) => {
    const rounds = r[name]!;
    const cpu = (client: string) => rounds[client]!.reduce((s, m) => s + m.cpuUsPerOp * m.ops, 0);
    const ops = (client: string) => rounds[client]!.reduce((s, m) => s + m.ops, 0);
    const perOp = (client: string) => cpu(client) / ops(client);
    const perRound = rounds["etcd-ts"]!.map((m, k) => round(m.cpuUsPerOp / rounds.etcd3![k]!.cpuUsPerOp));
    return {
      cpuRatioVsEtcd3: round(perOp("etcd-ts") / perOp("etcd3")),
      cpuRatioPerRound: perRound,
      floorCpuRatioVsEtcd3: round(perOp("bare-http2 (reference)") / perOp("etcd3")),
      cpuUsPerOp: {
        "etcd-ts": round(perOp("etcd-ts"), 1),
        etcd3: round(perOp("etcd3"), 1),
        "bare-http2": round(perOp("bare-http2 (reference)"), 1),
      },
    };
  };
  const put = scenario("put64");
  const range = scenario("range64");
  const [profile] = (await runNode([], `${buildDir}/unary-profile.js`, [
    endpoint,
    "8000",
    `${buildDir}/put64.cpuprofile`,
  ])) as { topFrames: TopFrame[] }[];
  return {
    putCpuRatioVsEtcd3: put.cpuRatioVsEtcd3,
    rangeCpuRatioVsEtcd3: range.cpuRatioVsEtcd3,
    put64: put,
    range64: range,
    roundMs: 3000,
    loadAverage: load(),
    putTopFrames: profile!.topFrames,
  };
}

interface CacheSize {
  entries: number;
  heapBytesPerEntryBeyondKeyValue: number;
  puts: { cpuUsPerUpdate: number };
  txns: { cpuUsPerUpdate: number };
}

async function cache() {
  if (!existsSync(`${here}cache.ts`)) {
    console.log("watch cache: bench/cache.ts does not exist on this branch; its keys stay null");
    return undefined;
  }
  console.log("watch cache: bench/cache.ts at 1,000, 10,000 and 100,000 entries");
  await runNode(["--expose-gc", "--import", "tsx"], `${here}cache.ts`, [], {
    BENCH_CACHE_SIZES: SIZES.join(","),
  });
  const r = JSON.parse(await readFile(`${here}results/cache.json`, "utf8")) as { sizes: CacheSize[] };
  return r.sizes;
}

async function main(): Promise<void> {
  const started = Date.now();
  const loadAtStart = load();
  await bundleChildren();
  const external = process.env.ETCD_ENDPOINTS?.split(",")[0];
  const cluster = external ? undefined : await startEtcd();
  const endpoint = external ?? cluster!.endpoint;
  let results: ScaleResults;
  try {
    const phaseLoad: Record<string, number[]> = {};
    const lease = runs("leases") ? await leases(endpoint) : undefined;
    phaseLoad.leases = load();
    const w1 = runs("watch1") ? await watch1(endpoint) : undefined;
    phaseLoad.watch1 = load();
    const idle = runs("watches") ? await idleWatches(endpoint) : undefined;
    phaseLoad.idleWatches = load();
    const unary64 = runs("unary") ? await unary(endpoint) : undefined;
    phaseLoad.unary64 = load();
    const cacheSizes = runs("cache") ? await cache() : undefined;
    phaseLoad.cache = load();
    const cacheAt = (n: number) => cacheSizes?.find((s) => s.entries === n);
    results = {
      measuredAt: new Date(started).toISOString(),
      node: process.version,
      cores: cpus().length,
      loadAverageAtStart: loadAtStart,
      loadAverageAfterPhase: phaseLoad,
      cacheUpdateCpuUs: {
        "10000": cacheAt(10_000)?.puts.cpuUsPerUpdate ?? null,
        "100000": cacheAt(100_000)?.puts.cpuUsPerUpdate ?? null,
      },
      // At the largest size: at 1,000 entries the cache's fixed cost still shows in the figure per entry.
      cacheBytesPerEntry: cacheAt(Math.max(...SIZES))?.heapBytesPerEntryBeyondKeyValue ?? null,
      leases10k: lease?.summary ?? null,
      watch1: w1 ?? null,
      watches: idle ?? null,
      unary64: unary64 ?? null,
      bySize: {
        cacheEntries: cacheSizes
          ? cacheSizes.map((s) => ({
              size: s.entries,
              cpuUsPerUpdate: s.puts.cpuUsPerUpdate,
              heapBytesPerEntry: s.heapBytesPerEntryBeyondKeyValue,
            }))
          : null,
        watches: idle
          ? SIZES.map((n) => ({
              size: n,
              heapBytesPerWatch: idle[n]!.heapBytesPerWatch,
              resumeCpuUsPerWatch: idle[n]!.resumeCpuUsPerWatch,
              resumeMs: idle[n]!.resumeMs,
            }))
          : null,
        leases: lease
          ? SIZES.map((n) => ({
              size: n,
              cpuUsPerLeaseSecond: lease.bySize[n]!.cpuUsPerLeaseSecond,
              rssMiB: lease.bySize[n]!.rssMiB,
            }))
          : null,
      },
      profiles: { put64: unary64?.putTopFrames ?? null, leases10k: lease?.topFrames ?? null },
      totalSeconds: Math.round((Date.now() - started) / 1000),
    };
  } finally {
    await cluster?.close();
  }
  const stem = only === undefined ? "scale" : "partial-scale";
  await writeFile(
    new URL(`./results/${stem}.json`, import.meta.url),
    `${JSON.stringify(results, null, 2)}\n`,
  );
  console.log(`\nwrote bench/results/${stem}.json (${results.totalSeconds} s)`);
  console.log(`wrote ${await writeScaleChart(stem, results)}`);
}

await main();
