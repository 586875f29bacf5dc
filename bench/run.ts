/**
 * `npm run bench`: Put and Range at 1 and 64 in flight through each etcd-ts transport, through `etcd3` and
 * through etcd's Go client (`go`: bench/go, on go.etcd.io/etcd/client/v3, built once and cached; left out,
 * with a line saying so, on a machine without Go), in one run against one etcd member (a throwaway one from
 * the test kit unless ETCD_ENDPOINTS is set). Prints ops/s, client CPU µs/op, p50 latency and ratios to
 * etcd3 and to Go (each client's process CPU: Go measures its own); writes bench/results/latest.json and its chart,
 * bench/results/latest.svg (a filtered run: partial.json and partial.svg, which git ignores).
 * BENCH_ROUNDS_OUT=<path> also writes every round's figures there (bench/scale.ts reads them).
 * BENCH_ETCD_VERSIONS=3.4,3.6 (`npm run bench:versions`) runs every client against one member of each etcd
 * line in the same interleaved rounds (clients named `etcd-ts@3.6`), compares each with `etcd3` and `go` on
 * the same server, and writes bench/results/versions.json instead.
 */
import { writeFile } from "node:fs/promises";
import { cpus } from "node:os";
import { startEtcd } from "../src/testing/index.js";
import type { KvResults } from "./chart-specs.js";
import { writeKvChart } from "./charts.js";
import { buildGoBench, GoBenchClient } from "./clients/go.js";
import { benchClients } from "./clients/index.js";
import type { BenchClient } from "./clients/types.js";
import { rangeKey, scenarios, value } from "./kv-scenarios.js";
import { combine, type Measurement, measure } from "./measure.js";
import { baselineOf, type Ratios, type WithRatios, withRatios } from "./ratios.js";

const durationMs = Number(process.env.BENCH_DURATION_MS ?? 3000);
const warmupMs = Number(process.env.BENCH_WARMUP_MS ?? 1000);
/** Each case's measured time is split into this many interleaved rounds (see main). */
const rounds = Number(process.env.BENCH_ROUNDS ?? 5);
/** Warm-up before each later round: refills the pipeline after another client ran. */
const roundWarmupMs = 250;
/** BENCH_ONLY=range64,put64 runs only those scenarios; BENCH_CLIENTS=etcd-ts,etcd3,go only those clients. */
const onlyScenarios = process.env.BENCH_ONLY?.split(",");
const onlyClients = process.env.BENCH_CLIENTS?.split(",");
const filtered = onlyScenarios !== undefined || onlyClients !== undefined;

/** One client as the rounds see it: a measured round of a scenario, in this process or in Go's. */
interface Runner {
  name: string;
  round(options: { durationMs: number; warmupMs: number }): Promise<Measurement>;
}

/** Whether BENCH_CLIENTS (if set) lets `name` (`etcd-ts@3.6` counts as `etcd-ts`) run. */
const wanted = (name: string) => !onlyClients || onlyClients.includes(name.split("@")[0]!);

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
  const results: Record<string, Record<string, WithRatios>> = {};
  const perRound: Record<string, Record<string, Measurement[]>> = {};
  const goClients: GoBenchClient[] = [];
  let goFacts: { goClient: string } | { goMissing: string } | undefined;
  try {
    const clients: BenchClient[] = [];
    const go = wanted("go") ? await buildGoBench() : undefined;
    if (go && "missing" in go) {
      console.log(`${go.missing}: running without the Go client`);
      goFacts = { goMissing: go.missing };
    }
    for (const [i, endpoint] of endpoints.entries()) {
      const at = versions ? `@${versions[i]}` : "";
      const own = await benchClients(endpoint);
      await own[0]!.put(rangeKey, value);
      clients.push(...own.map((c) => ({ ...c, name: `${c.name}${at}` })));
      if (go && "binary" in go) goClients.push(await GoBenchClient.start(go.binary, endpoint, `go${at}`));
    }
    if (goClients.length > 0) goFacts = { goClient: goClients[0]!.goClient };
    console.log(
      `etcd at ${endpoints.join(", ")}${versions ? ` (${versions.join(", ")})` : ""}; ${cpus().length} cores; per case and client ${durationMs} ms measured in ${rounds} interleaved rounds, after ${warmupMs} ms warm-up${goClients.length > 0 ? `; Go client go.etcd.io/etcd/client/v3 ${goClients[0]!.goClient}` : ""}`,
    );
    for (const scenario of scenarios) {
      if (onlyScenarios && !onlyScenarios.includes(scenario.name)) continue;
      const concurrency = scenario.concurrency;
      const runners: Runner[] = [
        ...clients.flatMap((client) => {
          const op = wanted(client.name) ? scenario.run(client) : undefined;
          return op
            ? [{ name: client.name, round: (o) => measure(op, { ...o, concurrency }) } as Runner]
            : [];
        }),
        ...goClients.map(
          (g) => ({ name: g.name, round: (o) => g.round(scenario.go, { ...o, concurrency }) }) as Runner,
        ),
      ];
      const totals = new Map<string, Measurement[]>(runners.map((r) => [r.name, []]));
      // Interleaved rounds, each starting with a different client: etcd's own state drifts during a run
      // (raft snapshots, Go GC, the puts of earlier cases), and a client measured in one block would
      // carry whatever the server was doing during its block. The Go client takes its turn like the
      // others: while it runs, this process waits, and while they run, the Go process is idle.
      for (let round = 0; round < rounds; round++) {
        for (let k = 0; k < runners.length; k++) {
          const runner = runners[(k + round) % runners.length]!;
          const m = await runner.round({
            durationMs: durationMs / rounds,
            warmupMs: round === 0 ? warmupMs : roundWarmupMs,
          });
          totals.get(runner.name)!.push(m);
        }
      }
      const rows = Object.fromEntries([...totals].map(([name, ms]) => [name, combine(ms)]));
      results[scenario.name] = withRatios(rows);
      perRound[scenario.name] = Object.fromEntries(totals);
      printScenario(scenario.name, concurrency, results[scenario.name]!, totals);
    }
    await Promise.all(clients.map((c) => c.close()));
  } finally {
    await Promise.all(goClients.map((g) => g.close()));
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
    ...goFacts,
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
  concurrency: number,
  rows: Record<string, WithRatios>,
  perRound: Map<string, Measurement[]>,
): void {
  // Latency is compared where it is the figure that matters: one call in flight.
  const latency = concurrency === 1;
  const ratioColumns = (base: string) =>
    `${`x ${base} ops`.padStart(13)}${`x ${base} cpu`.padStart(13)}${latency ? `x ${base} p50`.padStart(13) : ""}`;
  const ratioCells = (r: Ratios | undefined) => {
    const f = (x: number | undefined) => (r && x !== undefined ? x.toFixed(2) : "-");
    return `${f(r?.ops).padStart(13)}${f(r?.cpu).padStart(13)}${latency ? f(r?.p50).padStart(13) : ""}`;
  };
  const hasGo = Object.keys(rows).some((c) => c.split("@")[0] === "go");
  console.log(`\n${name}`);
  console.log(
    `${"client".padEnd(26)}${"ops/s".padStart(9)}${"cpu µs/op".padStart(11)}${"p50 µs".padStart(9)}${ratioColumns("etcd3")}${hasGo ? ratioColumns("go") : ""}${"errors".padStart(8)}   x etcd3 ops per round${hasGo ? " | x go ops per round" : ""}`,
  );
  // Round k of every client ran back to back, so their ratio is the fairest pairing there is.
  const roundRatios = (client: string, base: string) => {
    const baseRounds = perRound.get(baselineOf(client, base));
    return baseRounds
      ? perRound
          .get(client)!
          .map((r, k) => (r.opsPerSec / baseRounds[k]!.opsPerSec).toFixed(2))
          .join(" ")
      : "-";
  };
  for (const [client, m] of Object.entries(rows)) {
    console.log(
      `${client.padEnd(26)}${String(m.opsPerSec).padStart(9)}${m.cpuUsPerOp.toFixed(1).padStart(11)}${(m.p50Us?.toFixed(0) ?? "-").padStart(9)}${ratioCells(m.vsEtcd3)}${hasGo ? ratioCells(m.vsGo) : ""}${String(m.errors).padStart(8)}   ${roundRatios(client, "etcd3")}${hasGo ? ` | ${roundRatios(client, "go")}` : ""}`,
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
