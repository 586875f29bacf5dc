/**
 * `npm run bench:gateway-costs` (run by CI): what etcd's JSON gateway costs against the default gRPC
 * transport (issue 23), the same `Etcd` API on each, in one short run against one etcd member (3.6 unless
 * BENCH_ETCD_VERSION says otherwise; ETCD_ENDPOINTS=<url> uses a running one). Prints one table: put and
 * get (Range of one key) at 1 and 64 calls in flight, client CPU µs per op and ops/s, and watch events/s,
 * each as gateway / default. A report, not an assertion: no figure fails it, a failed call or a crash does.
 *
 * The KV cases run in interleaved rounds (BENCH_ROUNDS of BENCH_ROUND_MS each, after BENCH_WARMUP_MS the
 * first time), as `npm run bench` runs them. The watch case has a default client write BENCH_WATCH_EVENTS
 * puts under a fresh prefix first; then each client, in turn, watches that prefix from the revision before
 * them and counts until it has every event: delivery and decoding alone, CPU of this process over the
 * catch-up (etcd is another process and nothing else runs here meanwhile).
 */
import { cpus } from "node:os";
import { createGatewayTransport, Etcd, type EtcdOptions } from "../src/index.js";
import { startEtcd } from "../src/testing/index.js";
import { putPrefix, putSpread, rangeKey, value } from "./kv-scenarios.js";
import { combine, type Measurement, measure } from "./measure.js";

const roundMs = Number(process.env.BENCH_ROUND_MS ?? 400);
const rounds = Number(process.env.BENCH_ROUNDS ?? 3);
const warmupMs = Number(process.env.BENCH_WARMUP_MS ?? 400);
/** Warm-up before each later round: refills the pipeline after the other client ran. */
const roundWarmupMs = 100;
const watchEvents = Number(process.env.BENCH_WATCH_EVENTS ?? 10_000);
const etcdVersion = process.env.BENCH_ETCD_VERSION ?? "3.6";

/** The label of `new Etcd({ endpoints })`: whatever transport it picks by default is the one compared. */
const DEFAULT = "default (gRPC)";
const GATEWAY = "gateway";

interface Client {
  name: string;
  etcd: Etcd;
}

/** One KV case: calls in flight and the call. */
interface KvCase {
  name: string;
  concurrency: number;
  op: (etcd: Etcd) => (i: number) => Promise<unknown>;
}

const kvCases: KvCase[] = [
  {
    name: "put, 1 in flight",
    concurrency: 1,
    op: (e) => (i) => e.put(`${putPrefix}${i % putSpread}`, value),
  },
  {
    name: "put, 64 in flight",
    concurrency: 64,
    op: (e) => (i) => e.put(`${putPrefix}${i % putSpread}`, value),
  },
  { name: "get, 1 in flight", concurrency: 1, op: (e) => () => e.get(rangeKey) },
  { name: "get, 64 in flight", concurrency: 64, op: (e) => () => e.get(rangeKey) },
];

/** A client's catch-up on the watch case's events. */
interface WatchRun {
  events: number;
  ms: number;
  cpuUs: number;
}

async function main(): Promise<void> {
  const started = performance.now();
  const external = process.env.ETCD_ENDPOINTS?.split(",")[0];
  const cluster = external ? undefined : await startEtcd({ version: etcdVersion });
  const endpoint = external ?? cluster!.endpoint;
  const make = (name: string, options: Omit<EtcdOptions, "endpoints"> = {}): Client => ({
    name,
    etcd: new Etcd({ ...options, endpoints: [endpoint] }),
  });
  const clients = [
    make(DEFAULT),
    make(GATEWAY, { transport: (ep) => createGatewayTransport({ baseUrl: ep.url }) }),
  ];
  const [grpc, gateway] = clients as [Client, Client];
  try {
    await grpc.etcd.put(rangeKey, value);
    const server = (await grpc.etcd.maintenance.status()).version;
    console.log(
      `gateway costs: etcd ${server} at ${endpoint}; ${cpus().length} cores; ${rounds} interleaved rounds of ${roundMs} ms per case and client; ${watchEvents} watch events`,
    );
    const rows: { name: string; unit: string; grpc: number; gateway: number }[] = [];
    for (const c of kvCases) {
      const totals = new Map<string, Measurement[]>(clients.map((k) => [k.name, []]));
      for (let round = 0; round < rounds; round++) {
        for (let k = 0; k < clients.length; k++) {
          const client = clients[(k + round) % clients.length]!;
          const m = await measure(c.op(client.etcd), {
            concurrency: c.concurrency,
            durationMs: roundMs,
            warmupMs: round === 0 ? warmupMs : roundWarmupMs,
          });
          totals.get(client.name)!.push(m);
        }
      }
      const a = combine(totals.get(DEFAULT)!);
      const b = combine(totals.get(GATEWAY)!);
      if (a.errors + b.errors > 0) throw new Error(`${c.name}: ${a.errors + b.errors} calls failed`);
      rows.push({ name: `${c.name}: cpu µs/op`, unit: "cpu", grpc: a.cpuUsPerOp, gateway: b.cpuUsPerOp });
      rows.push({ name: `${c.name}: ops/s`, unit: "ops", grpc: a.opsPerSec, gateway: b.opsPerSec });
    }
    const watch = await watchCase(grpc, [grpc, gateway]);
    const perSec = (r: WatchRun) => Math.round((r.events / r.ms) * 1000);
    const cpuPerEvent = (r: WatchRun) => Math.round((r.cpuUs / r.events) * 10) / 10;
    rows.push({
      name: "watch: cpu µs/event",
      unit: "cpu",
      grpc: cpuPerEvent(watch.get(DEFAULT)!),
      gateway: cpuPerEvent(watch.get(GATEWAY)!),
    });
    rows.push({
      name: "watch: events/s",
      unit: "ops",
      grpc: perSec(watch.get(DEFAULT)!),
      gateway: perSec(watch.get(GATEWAY)!),
    });
    console.log(
      `\n${"case".padEnd(30)}${DEFAULT.padStart(16)}${GATEWAY.padStart(10)}${"gateway / default".padStart(19)}`,
    );
    for (const r of rows) {
      console.log(
        `${r.name.padEnd(30)}${String(r.grpc).padStart(16)}${String(r.gateway).padStart(10)}${`${(r.gateway / r.grpc).toFixed(2)}x`.padStart(19)}`,
      );
    }
    console.log(
      `(cpu: this process's user + system time per op, lower is cheaper; ops/s and events/s: higher is faster)\ngateway costs: ${((performance.now() - started) / 1000).toFixed(1)} s`,
    );
  } finally {
    await Promise.all(clients.map((c) => c.etcd.close()));
    await cluster?.close();
  }
}

/**
 * Writes the watch case's events with `writer` (64 in flight), then has each client in turn catch up on
 * them from the revision before them, and returns each client's catch-up.
 */
async function watchCase(writer: Client, clients: Client[]): Promise<Map<string, WatchRun>> {
  const prefix = `bench/gateway-costs/${Date.now()}/`;
  const before = (await writer.etcd.put(`${prefix}start`, "")).revision;
  let next = 0;
  await Promise.all(
    Array.from({ length: 64 }, async () => {
      while (next < watchEvents) {
        const i = next++;
        await writer.etcd.put(`${prefix}${i % 256}`, value);
      }
    }),
  );
  const runs = new Map<string, WatchRun>();
  for (const client of clients) runs.set(client.name, await catchUp(client.etcd, prefix, before + 1n));
  return runs;
}

/** Watches `prefix` from `startRevision` until `watchEvents` events came, timing it and this process's CPU. */
async function catchUp(etcd: Etcd, prefix: string, startRevision: bigint): Promise<WatchRun> {
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  const watcher = etcd.watch({ prefix }, { startRevision });
  let events = 0;
  await new Promise<void>((resolve, reject) => {
    const hang = setTimeout(
      () => reject(new Error(`watch: ${events} of ${watchEvents} events in 60 s`)),
      60_000,
    );
    watcher.on("batch", (batch) => {
      events += batch.events.length;
      if (events >= watchEvents) {
        clearTimeout(hang);
        resolve();
      }
    });
    watcher.on("close", (error) => {
      clearTimeout(hang);
      reject(error ?? new Error(`watch closed after ${events} of ${watchEvents} events`));
    });
  });
  const ms = performance.now() - t0;
  const cpu = process.cpuUsage(cpu0);
  await watcher.close();
  return { events, ms, cpuUs: cpu.user + cpu.system };
}

await main();
