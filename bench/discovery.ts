/**
 * `npm run bench:discovery`: service registration and discovery, against one etcd member (a throwaway one
 * from the test kit unless ETCD_ENDPOINTS is set).
 * - register-to-visible latency p50/p99 at 1, 100 and 1,000 instances (each its own lease, 64 `register()`
 *   calls in flight), seen by a `discover()` view on a second client;
 * - SIGKILL-to-removed time of instances registered by a child process, next to their TTL (3 and 5 s);
 * - calls failed during a rolling restart of 3 instances under 500 calls/s, with and without drain;
 * - heap and CPU of one client watching a service of 10,000 instances, and CPU per update delivered;
 * - pick cost per call of each balancing policy at 100 and 10,000 instances (`discovery-pick.ts`, in
 *   process; `BENCH_DISCOVERY_ONLY=pick` runs only this part, without etcd).
 * Writes bench/results/discovery.json. Run under `node --expose-gc` (the npm script does) for the heap figure.
 */
import { writeFile } from "node:fs/promises";
import { cpus } from "node:os";
import {
  discover,
  goEndpointsCodec,
  type Registration,
  register,
  toInstance,
} from "../src/discovery/index.js";
import { Etcd } from "../src/index.js";
import { startEtcd } from "../src/testing/index.js";
import { pickCost, printPickCost } from "./discovery-pick.js";
import { type RollingResult, rollingRestart } from "./discovery-rolling.js";
import {
  cpuMicros,
  fakeAddr,
  heapAfterGc,
  inBatches,
  quantile,
  round2,
  startChild,
} from "./discovery-support.js";

const SIZES = (process.env.BENCH_DISCOVERY_SIZES ?? "1,100,1000").split(",").map(Number);
const TTLS = (process.env.BENCH_DISCOVERY_TTLS ?? "3,5").split(",").map(Number);
const KILLED = 5;
/** Children per TTL in the SIGKILL case. */
const CHILDREN_PER_TTL = 3;
/** Rounds of the N = 1 register-to-visible case. */
const SINGLE_ROUNDS = 20;
const WATCHED = Number(process.env.BENCH_DISCOVERY_WATCHED ?? 10_000);
const UPDATES = Number(process.env.BENCH_DISCOVERY_UPDATES ?? 2000);
const RATE = 500;
/** A run tag, so that runs against a shared etcd (ETCD_ENDPOINTS) do not see each other's keys. */
const RUN = `bd${Date.now().toString(36)}`;

interface LatencyResult {
  instances: number;
  /** Latencies measured: `instances` × rounds (N = 1 is repeated so that its p50/p99 mean something). */
  samples: number;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
  /** Wall time of one round's `register()` calls, ms. */
  registerWallMs: number;
}

/** Time from calling `register()` to the watching view's `added` event, per instance. */
async function registerToVisible(
  registrar: Etcd,
  watcher: Etcd,
  n: number,
  rounds: number,
): Promise<LatencyResult> {
  const latencies: number[] = [];
  let registerWallMs = 0;
  for (let round = 0; round < rounds; round++) {
    const r = await registerRound(registrar, watcher, n, `${RUN}-rtv-${n}-${round}`);
    latencies.push(...r.latencies);
    registerWallMs += r.wallMs;
  }
  latencies.sort((a, b) => a - b);
  return {
    instances: n,
    samples: latencies.length,
    p50Ms: quantile(latencies, 0.5),
    p99Ms: quantile(latencies, 0.99),
    maxMs: quantile(latencies, 1),
    registerWallMs: Math.round(registerWallMs / rounds),
  };
}

/** One round: a fresh view, `n` registrations 64 at a time, latency of each, then all deregistered. */
async function registerRound(
  registrar: Etcd,
  watcher: Etcd,
  n: number,
  service: string,
): Promise<{ latencies: number[]; wallMs: number }> {
  const view = discover(watcher, service);
  await view.ready;
  const startedAt = new Map<string, number>();
  const latencies: number[] = [];
  let allSeen!: () => void;
  const seen = new Promise<void>((r) => {
    allSeen = r;
  });
  view.on("added", (_instance, key) => {
    const t = startedAt.get(key);
    if (t === undefined) return;
    latencies.push(performance.now() - t);
    if (latencies.length === n) allSeen();
  });
  const codec = goEndpointsCodec();
  const t0 = performance.now();
  const registrations: Registration[] = await inBatches(n, 64, (i) => {
    const addr = fakeAddr(i);
    startedAt.set(codec.key(toInstance({ service, addr })), performance.now());
    return register(registrar, { service, addr, ttl: 30 });
  });
  const registerWallMs = performance.now() - t0;
  await withTimeout(seen, 30_000, `all ${n} instances visible`);
  await view.close();
  await inBatches(registrations.length, 64, (i) => registrations[i]!.deregister());
  return { latencies, wallMs: registerWallMs };
}

interface KillResult {
  ttlSeconds: number;
  /** Children killed (each with {@link KILLED} instances). */
  children: number;
  instances: number;
  /** Keepalive period of the client (a third of the TTL): removal is expected between TTL - this and TTL + etcd's expiry check. */
  keepalivePeriodMs: number;
  minMs: number;
  medianMs: number;
  maxMs: number;
  /** Per child, the time its last instance left the view (one child's instances share a keepalive tick). */
  perChildMs: number[];
}

/**
 * Children register instances under short TTLs; after SIGKILL, how long until the view drops them. Each
 * child's instances are kept alive in the same keepalive tick, so they expire together: several children
 * per TTL, killed a third of a keepalive period apart, sample different points of the keepalive cycle.
 */
async function killToRemoved(endpoint: string, watcher: Etcd): Promise<KillResult[]> {
  const specs = TTLS.flatMap((ttl) => Array.from({ length: CHILDREN_PER_TTL }, (_, c) => ({ ttl, c })));
  const children: ReturnType<typeof startChild>[] = [];
  try {
    const runs = await Promise.all(
      specs.map(async ({ ttl, c }) => {
        const service = `${RUN}-kill-${ttl}-${c}`;
        const view = discover(watcher, service);
        await view.ready;
        const child = startChild(["register", endpoint, service, String(ttl), String(KILLED)], "ready");
        children.push(child);
        await child.said;
        await waitFor(() => view.instances().length === KILLED, 10_000, `${KILLED} instances of ${service}`);
        return { ttl, c, view, child };
      }),
    );
    const removed = await Promise.all(
      runs.map(async ({ ttl, c, view, child }) => {
        await new Promise((r) => setTimeout(r, 1000 + (c * ttl * 1000) / 3 / CHILDREN_PER_TTL));
        const removedAfter: number[] = [];
        const killedAt = performance.now();
        const gone = new Promise<void>((resolve) => {
          view.on("removed", () => {
            removedAfter.push(performance.now() - killedAt);
            if (removedAfter.length === KILLED) resolve();
          });
        });
        child.process.kill("SIGKILL");
        await withTimeout(gone, (ttl + 10) * 1000, `instances of a killed ttl-${ttl} child removed`);
        await view.close();
        return { ttl, removedAfter };
      }),
    );
    return TTLS.map((ttl) => {
      const mine = removed.filter((r) => r.ttl === ttl);
      const all = mine.flatMap((r) => r.removedAfter).sort((a, b) => a - b);
      return {
        ttlSeconds: ttl,
        children: mine.length,
        instances: all.length,
        keepalivePeriodMs: Math.round((ttl * 1000) / 3),
        minMs: Math.round(all[0]!),
        medianMs: Math.round(quantile(all, 0.5)),
        maxMs: Math.round(all[all.length - 1]!),
        perChildMs: mine.map((r) => Math.round(Math.max(...r.removedAfter))),
      };
    });
  } finally {
    for (const child of children)
      if (child.process.exitCode === null && child.process.signalCode === null) child.process.kill("SIGKILL");
  }
}

interface WatchCostResult {
  instances: number;
  initialLoadMs: number;
  initialLoadCpuMs: number;
  heapBytes: number;
  heapBytesPerInstance: number;
  updates: number;
  cpuUsPerUpdate: number;
  updatesPerSec: number;
  /** The same with a `for await` loop over the view's snapshots that does nothing with them. */
  withLoop: { cpuUsPerUpdate: number; updatesPerSec: number; snapshotsTaken: number };
}

/**
 * 10,000 Go-layout entries written directly, then one fresh client opens `discover()`: heap growth after
 * GC and CPU of the initial load. Then a child process rewrites 2,000 of them (so that the writes' CPU is
 * not this process') and this process' CPU is divided by the updates the view delivered.
 */
async function watchCost(endpoint: string, writer: Etcd): Promise<WatchCostResult> {
  const service = `${RUN}-watch`;
  const codec = goEndpointsCodec();
  // A few shared leases, so that the entries vanish even if the run dies before its cleanup.
  const leases = await Promise.all([0, 1, 2, 3].map(() => writer.lease.grant(600)));
  await inBatches(WATCHED, 64, async (i) => {
    const instance = toInstance({ service, addr: fakeAddr(i), metadata: { i } });
    await writer.put(codec.key(instance), codec.encode(instance), { lease: leases[i % 4]!.id });
  });
  const client = new Etcd({ endpoints: [endpoint] });
  await client.get("warm-up"); // connection setup is not the view's cost
  const heap0 = heapAfterGc();
  const cpu0 = cpuMicros();
  const t0 = performance.now();
  const view = discover(client, service);
  await view.ready;
  const initialLoadMs = performance.now() - t0;
  const initialLoadCpuMs = (cpuMicros() - cpu0) / 1000;
  if (view.instances().length !== WATCHED) throw new Error(`view has ${view.instances().length} instances`);
  const heapBytes = heapAfterGc() - heap0;

  const plain = await updateRound(endpoint, view, service, 0);
  // A loop that takes every snapshot it is given and does nothing with it.
  let snapshotsTaken = 0;
  const looping = (async () => {
    for await (const _ of view) snapshotsTaken++;
  })();
  const withLoop = await updateRound(endpoint, view, service, 1);
  await view.close();
  await looping;
  await client.close();
  await Promise.all(leases.map((l) => l.revoke()));
  return {
    instances: WATCHED,
    initialLoadMs: Math.round(initialLoadMs),
    initialLoadCpuMs: Math.round(initialLoadCpuMs),
    heapBytes,
    heapBytesPerInstance: Math.round(heapBytes / WATCHED),
    updates: UPDATES,
    ...plain,
    withLoop: { ...withLoop, snapshotsTaken },
  };
}

/**
 * A child rewrites {@link UPDATES} entries (values new in each `round`); CPU of this process per update
 * the view delivered, counted from the first one, so that the child's start-up (idle here) is not in it.
 */
async function updateRound(
  endpoint: string,
  view: ReturnType<typeof discover>,
  service: string,
  round: number,
): Promise<{ cpuUsPerUpdate: number; updatesPerSec: number }> {
  let updated = 0;
  let allUpdated!: () => void;
  const delivered = new Promise<void>((r) => {
    allUpdated = r;
  });
  let cpu1 = 0;
  let t1 = 0;
  const onUpdated = () => {
    if (++updated === 1) {
      cpu1 = cpuMicros();
      t1 = performance.now();
    }
    if (updated === UPDATES) allUpdated();
  };
  view.on("updated", onUpdated);
  const child = startChild(
    ["update", endpoint, service, String(WATCHED), String(UPDATES), String(round)],
    "done",
  );
  await withTimeout(delivered, 60_000, `${UPDATES} updates delivered`);
  const cpuUs = cpuMicros() - cpu1;
  const elapsedMs = performance.now() - t1;
  view.off("updated", onUpdated);
  await child.said;
  return {
    cpuUsPerUpdate: round2(cpuUs / (UPDATES - 1)),
    updatesPerSec: Math.round(((UPDATES - 1) / elapsedMs) * 1000),
  };
}

async function main(): Promise<void> {
  if (process.env.BENCH_DISCOVERY_ONLY === "pick") {
    console.log("pick cost per call (choose + record), in process");
    printPickCost(pickCost());
    return;
  }
  const external = process.env.ETCD_ENDPOINTS?.split(",")[0];
  const cluster = external ? undefined : await startEtcd();
  const endpoint = external ?? cluster!.endpoint;
  const registrar = new Etcd({ endpoints: [endpoint] });
  const watcher = new Etcd({ endpoints: [endpoint] });
  const out: Record<string, unknown> = {
    measuredAt: new Date().toISOString(),
    node: process.version,
    cores: cpus().length,
  };
  const began = performance.now();
  try {
    console.log(`etcd at ${endpoint}; ${cpus().length} cores`);

    console.log("\nregister() -> added event on a second client's view (64 register() in flight)");
    console.log(
      `${"instances".padStart(9)}${"samples".padStart(9)}${"p50 ms".padStart(9)}${"p99 ms".padStart(9)}${"max ms".padStart(9)}${"wall ms".padStart(9)}`,
    );
    // Lease keepalive and watch streams of both clients are opened here, outside the measurement.
    await registerRound(registrar, watcher, 1, `${RUN}-warm-up`);
    const latency: LatencyResult[] = [];
    for (const n of SIZES) {
      const r = await registerToVisible(registrar, watcher, n, n === 1 ? SINGLE_ROUNDS : 1);
      latency.push(r);
      console.log(
        `${String(n).padStart(9)}${String(r.samples).padStart(9)}${String(r.p50Ms).padStart(9)}${String(r.p99Ms).padStart(9)}${String(r.maxMs).padStart(9)}${String(r.registerWallMs).padStart(9)}`,
      );
    }
    out.registerToVisible = latency;

    console.log(
      `\nSIGKILL of a registering process (${CHILDREN_PER_TTL} processes per TTL, ${KILLED} instances each) -> removed from the view`,
    );
    const kills = await killToRemoved(endpoint, watcher);
    for (const k of kills) {
      console.log(
        `TTL ${k.ttlSeconds} s (keepalive every ${k.keepalivePeriodMs} ms): removed after min ${k.minMs} / median ${k.medianMs} / max ${k.maxMs} ms (per process: ${k.perChildMs.join(", ")})`,
      );
    }
    out.killToRemoved = kills;

    console.log(`\nrolling restart of 3 instances under ${RATE} calls/s (not retryable)`);
    const rolling: RollingResult[] = [];
    for (const mode of ["drain", "no-drain"] as const) {
      const r = await rollingRestart({
        registrar,
        watcher,
        service: `${RUN}-roll-${mode}`,
        mode,
        rate: RATE,
        handlerDelayMs: 5,
        settleMs: 1000,
      });
      rolling.push(r);
      const why = Object.entries(r.failures)
        .map(([code, n]) => `${code} ${n}`)
        .join(", ");
      console.log(
        `${mode.padEnd(9)} ok ${r.ok}, failed ${r.failed}${why ? ` (${why})` : ""}; ${r.achievedRate} calls/s over ${r.durationMs} ms`,
      );
    }
    out.rollingRestart = rolling;

    console.log(`\none client watching ${WATCHED} instances`);
    const cost = await watchCost(endpoint, registrar);
    console.log(
      `initial load: ${cost.initialLoadMs} ms wall, ${cost.initialLoadCpuMs} ms CPU; heap +${(cost.heapBytes / 1024 / 1024).toFixed(1)} MiB (${cost.heapBytesPerInstance} B/instance)`,
    );
    console.log(
      `${cost.updates} updates: ${cost.cpuUsPerUpdate} µs CPU per update delivered (${cost.updatesPerSec} updates/s)`,
    );
    console.log(
      `with a for await loop over snapshots: ${cost.withLoop.cpuUsPerUpdate} µs CPU per update (${cost.withLoop.updatesPerSec} updates/s, ${cost.withLoop.snapshotsTaken} snapshots taken)`,
    );
    out.watch10k = cost;

    console.log("\npick cost per call (choose + record), in process");
    const picks = pickCost();
    printPickCost(picks);
    out.pickCost = picks;
  } finally {
    await registrar.delete({ prefix: RUN }).catch(() => {});
    await Promise.all([registrar.close(), watcher.close()]);
    await cluster?.close();
  }
  out.totalSeconds = Math.round((performance.now() - began) / 1000);
  await writeFile(new URL("./results/discovery.json", import.meta.url), `${JSON.stringify(out, null, 2)}\n`);
  console.log(`\nwrote bench/results/discovery.json (${out.totalSeconds} s)`);
}

function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out waiting for ${what}`)), ms);
  });
  return Promise.race([p, timeout]).finally(() => clearTimeout(timer));
}

async function waitFor(check: () => boolean, ms: number, what: string): Promise<void> {
  const deadline = performance.now() + ms;
  while (!check()) {
    if (performance.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

await main();
