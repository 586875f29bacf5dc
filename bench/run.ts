/**
 * `npm run bench`: Put and Range at 1 and 64 in flight through each etcd-ts transport and through `etcd3`,
 * in one run against one etcd member (a throwaway one from the test kit unless ETCD_ENDPOINTS is set).
 * Prints ops/s, client CPU µs/op and ratios to etcd3; writes bench/results/latest.json and its chart,
 * bench/results/latest.svg (a filtered run: partial.json and partial.svg, which git ignores).
 * BENCH_ROUNDS_OUT=<path> also writes every round's figures there (bench/scale.ts reads them).
 * BENCH_ETCD_VERSIONS=3.4,3.6 (`npm run bench:versions`) runs every client against one member of each etcd
 * line in the same interleaved rounds (clients named `etcd-ts@3.6`), compares each with `etcd3` on the same
 * server, and writes bench/results/versions.json instead.
 */
import { writeFile } from "node:fs/promises";
import { cpus } from "node:os";
import { startEtcd } from "../src/testing/index.js";
import type { KvResults } from "./chart-specs.js";
import { writeKvChart } from "./charts.js";
import { benchClients } from "./clients/index.js";
import type { BenchClient } from "./clients/types.js";
import { combine, type Measurement, measure } from "./measure.js";

const durationMs = Number(process.env.BENCH_DURATION_MS ?? 3000);
const warmupMs = Number(process.env.BENCH_WARMUP_MS ?? 1000);
/** Each case's measured time is split into this many interleaved rounds (see main). */
const rounds = Number(process.env.BENCH_ROUNDS ?? 5);
/** Warm-up before each later round: refills the pipeline after another client ran. */
const roundWarmupMs = 250;
const value = new Uint8Array(100).fill(0x61);
const txnKeys = Array.from({ length: 10 }, (_, i) => `bench/txn/${i}`);
/** BENCH_ONLY=range64,put64 runs only those scenarios; BENCH_CLIENTS=etcd-ts,etcd3 only those clients. */
const onlyScenarios = process.env.BENCH_ONLY?.split(",");
const onlyClients = process.env.BENCH_CLIENTS?.split(",");
const filtered = onlyScenarios !== undefined || onlyClients !== undefined;

type Scenario = {
  name: string;
  concurrency: number;
  run: (c: BenchClient) => ((i: number) => Promise<void>) | undefined;
};
const scenarios: Scenario[] = [
  { name: "put64", concurrency: 64, run: (c) => (i) => c.put(`bench/put/${i % 1024}`, value) },
  { name: "put1", concurrency: 1, run: (c) => (i) => c.put(`bench/put/${i % 1024}`, value) },
  { name: "range64", concurrency: 64, run: (c) => () => c.get("bench/range") },
  { name: "range1", concurrency: 1, run: (c) => () => c.get("bench/range") },
  { name: "txn10", concurrency: 64, run: (c) => (c.txn10 ? () => c.txn10!(txnKeys, value) : undefined) },
];

/** The etcd lines to compare (BENCH_ETCD_VERSIONS), or undefined for one server. */
const versions = process.env.BENCH_ETCD_VERSIONS?.split(",").map((v) => v.trim());

async function main(): Promise<void> {
  const external = process.env.ETCD_ENDPOINTS?.split(",")[0];
  if (external && versions)
    throw new Error("BENCH_ETCD_VERSIONS starts its own members: unset ETCD_ENDPOINTS");
  const clusters = external
    ? []
    : await Promise.all((versions ?? [undefined]).map((version) => startEtcd({ version })));
  const endpoints = external ? [external] : clusters.map((c) => c.endpoint);
  const results: Record<string, Record<string, Measurement>> = {};
  const perRound: Record<string, Record<string, Measurement[]>> = {};
  try {
    const clients: BenchClient[] = [];
    for (const [i, endpoint] of endpoints.entries()) {
      const own = await benchClients(endpoint);
      await own[0]!.put("bench/range", value);
      clients.push(...(versions ? own.map((c) => ({ ...c, name: `${c.name}@${versions[i]}` })) : own));
    }
    console.log(
      `etcd at ${endpoints.join(", ")}${versions ? ` (${versions.join(", ")})` : ""}; ${cpus().length} cores; per case and client ${durationMs} ms measured in ${rounds} interleaved rounds, after ${warmupMs} ms warm-up`,
    );
    for (const scenario of scenarios) {
      if (onlyScenarios && !onlyScenarios.includes(scenario.name)) continue;
      const runners = clients.flatMap((client) => {
        if (onlyClients && !onlyClients.includes(client.name.split("@")[0]!)) return [];
        const op = scenario.run(client);
        return op ? [{ name: client.name, op }] : [];
      });
      const totals = new Map<string, Measurement[]>(runners.map((r) => [r.name, []]));
      // Interleaved rounds, each starting with a different client: etcd's own state drifts during a run
      // (raft snapshots, Go GC, the puts of earlier cases), and a client measured in one block would
      // carry whatever the server was doing during its block.
      for (let round = 0; round < rounds; round++) {
        for (let k = 0; k < runners.length; k++) {
          const runner = runners[(k + round) % runners.length]!;
          const m = await measure(runner.op, {
            concurrency: scenario.concurrency,
            durationMs: durationMs / rounds,
            warmupMs: round === 0 ? warmupMs : roundWarmupMs,
          });
          totals.get(runner.name)!.push(m);
        }
      }
      results[scenario.name] = Object.fromEntries([...totals].map(([name, ms]) => [name, combine(ms)]));
      perRound[scenario.name] = Object.fromEntries(totals);
      printScenario(scenario.name, results[scenario.name]!, totals);
    }
    await Promise.all(clients.map((c) => c.close()));
  } finally {
    await Promise.all(clusters.map((c) => c.close()));
  }
  const out = {
    default: process.env.BENCH_DEFAULT_NAME ?? "http2",
    measuredAt: new Date().toISOString(),
    node: process.version,
    cores: cpus().length,
    durationMs,
    rounds,
    ...(versions ? { etcdVersions: versions.join(",") } : {}),
    ...results,
  };
  if (versions) {
    await writeFile(new URL("./results/versions.json", import.meta.url), `${JSON.stringify(out, null, 2)}\n`);
    console.log("\nwrote bench/results/versions.json");
    return;
  }
  // A filtered run is for exploring; only a full run replaces the recorded results.
  const stem = filtered ? "partial" : "latest";
  await writeFile(new URL(`./results/${stem}.json`, import.meta.url), `${JSON.stringify(out, null, 2)}\n`);
  console.log(`\nwrote bench/results/${stem}.json`);
  console.log(`wrote ${await writeKvChart(stem, out as KvResults)}`);
  const roundsOut = process.env.BENCH_ROUNDS_OUT;
  if (roundsOut) {
    await writeFile(roundsOut, `${JSON.stringify({ ...out, ...perRound }, null, 2)}\n`);
    console.log(`wrote ${roundsOut}`);
  }
}

function printScenario(
  name: string,
  rows: Record<string, Measurement>,
  perRound: Map<string, Measurement[]>,
): void {
  console.log(`\n${name}`);
  console.log(
    `${"client".padEnd(26)}${"ops/s".padStart(9)}${"cpu µs/op".padStart(11)}${"x etcd3 ops".padStart(13)}${"x etcd3 cpu".padStart(13)}${"errors".padStart(8)}   x etcd3 ops per round`,
  );
  for (const [client, m] of Object.entries(rows)) {
    // Each client is compared with etcd3 on the same server (`etcd3@3.6` for `etcd-ts@3.6`).
    const at = client.includes("@") ? client.slice(client.indexOf("@")) : "";
    const base = rows[`etcd3${at}`];
    const baseRounds = perRound.get(`etcd3${at}`);
    const opsRatio = base ? (m.opsPerSec / base.opsPerSec).toFixed(2) : "-";
    const cpuRatio = base ? (m.cpuUsPerOp / base.cpuUsPerOp).toFixed(2) : "-";
    // Round k of every client ran back to back, so their ratio is the fairest pairing there is.
    const rounds = baseRounds
      ? perRound
          .get(client)!
          .map((r, k) => (r.opsPerSec / baseRounds[k]!.opsPerSec).toFixed(2))
          .join(" ")
      : "";
    console.log(
      `${client.padEnd(26)}${String(m.opsPerSec).padStart(9)}${m.cpuUsPerOp.toFixed(1).padStart(11)}${opsRatio.padStart(13)}${cpuRatio.padStart(13)}${String(m.errors).padStart(8)}   ${rounds}`,
    );
  }
  // The gateway transport beside the default one, same API, same rounds (issue 23).
  for (const [client, m] of Object.entries(rows)) {
    if (!client.startsWith("gateway")) continue;
    const grpc = rows[client.replace(/^gateway/, "etcd-ts")];
    if (!grpc) continue;
    console.log(
      `${client} / ${client.replace(/^gateway/, "etcd-ts")}: ops ${(m.opsPerSec / grpc.opsPerSec).toFixed(2)}x, client cpu per op ${(m.cpuUsPerOp / grpc.cpuUsPerOp).toFixed(2)}x`,
    );
  }
}

await main();
