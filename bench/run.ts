/**
 * `npm run bench`: Put and Range at 1 and 64 in flight through each etcd-ts transport and through `etcd3`,
 * in one run against one etcd member (a throwaway one from the test kit unless ETCD_ENDPOINTS is set).
 * Prints ops/s, client CPU µs/op and ratios to etcd3; writes bench/results/latest.json.
 */
import { writeFile } from "node:fs/promises";
import { cpus } from "node:os";
import { startEtcd } from "../src/testing/index.js";
import { benchClients } from "./clients/index.js";
import type { BenchClient } from "./clients/types.js";
import { type Measurement, measure } from "./measure.js";

const durationMs = Number(process.env.BENCH_DURATION_MS ?? 3000);
const warmupMs = Number(process.env.BENCH_WARMUP_MS ?? 1000);
const value = new Uint8Array(100).fill(0x61);
const txnKeys = Array.from({ length: 10 }, (_, i) => `bench/txn/${i}`);

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

async function main(): Promise<void> {
  const external = process.env.ETCD_ENDPOINTS?.split(",")[0];
  const cluster = external ? undefined : await startEtcd();
  const endpoint = external ?? cluster!.endpoint;
  const results: Record<string, Record<string, Measurement>> = {};
  try {
    const clients = await benchClients(endpoint);
    await clients[0]!.put("bench/range", value);
    console.log(
      `etcd at ${endpoint}; ${cpus().length} cores; ${warmupMs} ms warm-up + ${durationMs} ms per case`,
    );
    for (const scenario of scenarios) {
      results[scenario.name] = {};
      for (const client of clients) {
        const op = scenario.run(client);
        if (!op) continue;
        const m = await measure(op, { concurrency: scenario.concurrency, durationMs, warmupMs });
        results[scenario.name]![client.name] = m;
      }
      printScenario(scenario.name, results[scenario.name]!);
    }
    await Promise.all(clients.map((c) => c.close()));
  } finally {
    await cluster?.close();
  }
  const out = {
    default: process.env.BENCH_DEFAULT_NAME ?? "http2",
    measuredAt: new Date().toISOString(),
    node: process.version,
    cores: cpus().length,
    durationMs,
    ...results,
  };
  await writeFile(new URL("./results/latest.json", import.meta.url), `${JSON.stringify(out, null, 2)}\n`);
  console.log("\nwrote bench/results/latest.json");
}

function printScenario(name: string, rows: Record<string, Measurement>): void {
  const base = rows.etcd3;
  console.log(`\n${name}`);
  console.log(
    `${"client".padEnd(26)}${"ops/s".padStart(9)}${"cpu µs/op".padStart(11)}${"x etcd3 ops".padStart(13)}${"x etcd3 cpu".padStart(13)}${"errors".padStart(8)}`,
  );
  for (const [client, m] of Object.entries(rows)) {
    const opsRatio = base ? (m.opsPerSec / base.opsPerSec).toFixed(2) : "-";
    const cpuRatio = base ? (m.cpuUsPerOp / base.cpuUsPerOp).toFixed(2) : "-";
    console.log(
      `${client.padEnd(26)}${String(m.opsPerSec).padStart(9)}${m.cpuUsPerOp.toFixed(1).padStart(11)}${opsRatio.padStart(13)}${cpuRatio.padStart(13)}${String(m.errors).padStart(8)}`,
    );
  }
}

await main();
