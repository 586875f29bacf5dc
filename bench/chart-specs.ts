/**
 * Vega-Lite specs of the benchmark charts, built from the JSON a run writes: pure functions of the results,
 * so a chart shows exactly the figures of the run beside it. `charts.ts` renders them to SVG.
 */
import type { TopLevelSpec } from "vega-lite";
import type { Measurement } from "./measure.js";

/** What `npm run bench` writes (bench/results/latest.json): run facts, then scenario -> client -> figures. */
export interface KvResults {
  measuredAt: string;
  node: string;
  cores: number;
  durationMs: number;
  rounds: number;
  [scenario: string]: Record<string, Measurement> | string | number;
}

/** One point of a latency distribution: `percentile` in 0..100 (100 = the slowest event). */
export interface LatencyPercentile {
  percentile: number;
  ms: number;
}

/** One put storm of `npm run bench:watch`, per client. */
export interface StormResult {
  watchers: number;
  puts: number;
  events: number;
  eventsPerSec: number;
  p50Ms: number;
  p99Ms: number;
  /** Recorded since the charts were added; older results have only p50Ms and p99Ms. */
  latencyPercentilesMs?: LatencyPercentile[];
}

/** What `npm run bench:watch` writes; the storms it ran (watch1, watch1000) map client -> result. */
export interface WatchResults {
  measuredAt: string;
  node: string;
  cores: number;
  /** The phases a short run was limited to (`BENCH_ONLY`); absent for a full run. */
  only?: string[];
  watch1?: Record<string, StormResult>;
  watch1000?: Record<string, StormResult>;
}

/** The percentiles `bench:watch` records for its latency chart. */
export const latencyPercentiles = [1, 10, 25, 50, 75, 90, 95, 99, 99.9, 100] as const;

/** The README's names for bench/clients' names; unknown clients keep theirs. */
const clientLabels: Record<string, string> = {
  "etcd-ts": "Etcd API",
  "etcd-ts/http2": "Etcd API on node:http2",
  gateway: "Etcd API over the JSON gateway",
  http2: "createHttp2Transport",
  "h2-net": "createH2NetTransport",
  "grpc-js": "createGrpcJsTransport",
  "connect-node": "createConnectNodeTransport",
  "bare-http2 (reference)": "bare node:http2 (floor)",
  etcd3: "etcd3",
  go: "Go clientv3",
};

const scenarioLabels: Record<string, string> = {
  put64: "Put, 64 in flight",
  put1: "Put, 1 in flight",
  range64: "Range (one key), 64 in flight",
  range1: "Range (one key), 1 in flight",
  txn10: "Txn of 10 puts, 64 in flight",
};

/** The label a chart shows for a client of bench/clients. */
export function clientLabel(name: string): string {
  return clientLabels[name] ?? name;
}

/** "p50", "p99.9"; 100 is "max". */
export function percentileLabel(percentile: number): string {
  return percentile === 100 ? "max" : `p${percentile}`;
}

/** "2026-11-25T12:41:48.993Z" -> "12:41 UTC, 2026-11-25", as the README writes run times. */
export function runTime(iso: string): string {
  const d = new Date(iso);
  const pad = (n: number) => String(n).padStart(2, "0");
  return `${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())} UTC, ${d.toISOString().slice(0, 10)}`;
}

/** The client order of a chart: etcd-ts's clients first, in the order the run measured them. */
function orderedClients(names: Iterable<string>): string[] {
  return [...new Set(names)].sort((a, b) => rank(a) - rank(b));
}
function rank(name: string): number {
  const i = Object.keys(clientLabels).indexOf(name);
  return i === -1 ? Number.MAX_SAFE_INTEGER : i;
}

/** Colors: etcd-ts's own clients in blues, the reference floor grey, etcd3 orange, Go's client green. */
function colorOf(name: string): string {
  const colors: Record<string, string> = {
    "etcd-ts": "#1f5fa8",
    gateway: "#2e9e6b",
    http2: "#4a8fd6",
    "grpc-js": "#8fbce6",
    "connect-node": "#c3dcf2",
    "bare-http2 (reference)": "#9e9e9e",
    etcd3: "#e8772e",
    go: "#2e9e6b",
  };
  return colors[name] ?? "#6b6b6b";
}

/**
 * `npm run bench`: a row per scenario, ops/s on the left and client CPU µs per op on the right, a bar per
 * client. Each cell has its own scale: the chart compares clients within a case, as the README's tables do.
 */
export function kvChartSpec(results: KvResults): TopLevelSpec {
  const rows: { scenario: string; client: string; metric: string; value: number }[] = [];
  const scenarios: string[] = [];
  const clients: string[] = [];
  for (const [scenario, byClient] of Object.entries(results)) {
    if (typeof byClient !== "object" || byClient === null) continue;
    scenarios.push(scenarioLabels[scenario] ?? scenario);
    for (const [client, m] of Object.entries(byClient)) {
      clients.push(client);
      const common = { scenario: scenarioLabels[scenario] ?? scenario, client: clientLabel(client) };
      rows.push({ ...common, metric: "ops/s (higher is better)", value: m.opsPerSec });
      rows.push({ ...common, metric: "client CPU µs/op (lower is better)", value: m.cpuUsPerOp });
    }
  }
  const order = orderedClients(clients);
  return {
    $schema: "https://vega.github.io/schema/vega-lite/v6.json",
    title: {
      text: `npm run bench: etcd-ts's clients${clients.includes("go") ? ", etcd3 and Go's client" : " and etcd3"} against one etcd member`,
      subtitle: `run of ${runTime(results.measuredAt)}; Node ${results.node}, ${results.cores} cores; ${results.durationMs} ms per case and client in ${results.rounds} interleaved rounds`,
      anchor: "start",
    },
    data: { values: rows },
    facet: {
      row: {
        field: "scenario",
        type: "nominal",
        sort: scenarios,
        title: null,
        header: {
          labelAngle: 0,
          labelAlign: "left",
          labelAnchor: "start",
          labelOrient: "top",
          labelFontWeight: "bold",
        },
      },
      column: {
        field: "metric",
        type: "nominal",
        sort: ["ops/s (higher is better)"],
        title: null,
        header: { labelFontWeight: "bold" },
      },
    },
    spec: {
      width: 260,
      height: { step: 16 },
      encoding: {
        y: {
          field: "client",
          type: "nominal",
          sort: order.map(clientLabel),
          title: null,
          axis: { labelLimit: 200 },
        },
        x: { field: "value", type: "quantitative", title: null },
      },
      layer: [
        {
          mark: "bar",
          encoding: {
            color: {
              field: "client",
              type: "nominal",
              scale: { domain: order.map(clientLabel), range: order.map(colorOf) },
              legend: null,
            },
          },
        },
        {
          mark: { type: "text", align: "left", dx: 3, fontSize: 10 },
          encoding: { text: { field: "value", type: "quantitative", format: ",.1~f" } },
        },
      ],
    },
    resolve: { scale: { x: "independent", y: "independent" } },
    config: { view: { stroke: null }, font: "Helvetica, Arial, sans-serif" },
  };
}

/**
 * The latency points of a storm: the recorded percentiles, or p50 and p99 for results recorded before
 * `latencyPercentilesMs` existed.
 */
export function latencyPoints(storm: StormResult): LatencyPercentile[] {
  if (storm.latencyPercentilesMs && storm.latencyPercentilesMs.length > 0) return storm.latencyPercentilesMs;
  return [
    { percentile: 50, ms: storm.p50Ms },
    { percentile: 99, ms: storm.p99Ms },
  ];
}

/**
 * `npm run bench:watch`: put-to-event latency at each recorded percentile, a line per client, a panel per
 * storm (1 watcher; 1,000 watchers on one prefix), log scale.
 */
export function watchLatencyChartSpec(results: WatchResults): TopLevelSpec {
  const rows: { storm: string; client: string; percentile: number; label: string; ms: number }[] = [];
  const storms: string[] = [];
  const clients: string[] = [];
  for (const key of ["watch1", "watch1000"] as const) {
    const byClient = results[key];
    if (!byClient) continue;
    for (const [client, storm] of Object.entries(byClient)) {
      const name = `${storm.watchers.toLocaleString("en-US")} watcher${storm.watchers === 1 ? "" : "s"}, ${storm.puts.toLocaleString("en-US")} puts`;
      if (!storms.includes(name)) storms.push(name);
      clients.push(client);
      for (const p of latencyPoints(storm)) {
        rows.push({
          storm: name,
          client,
          percentile: p.percentile,
          label: percentileLabel(p.percentile),
          ms: p.ms,
        });
      }
    }
  }
  const order = orderedClients(clients);
  const labels = [...new Set(rows.map((r) => r.percentile))].sort((a, b) => a - b).map(percentileLabel);
  return {
    $schema: "https://vega.github.io/schema/vega-lite/v6.json",
    title: {
      text: "npm run bench:watch: put-to-event latency by percentile",
      subtitle: `${results.only ? `BENCH_ONLY=${results.only.join(",")} ` : ""}run of ${runTime(results.measuredAt)}; Node ${results.node}, ${results.cores} cores; lower is better`,
      anchor: "start",
    },
    data: { values: rows },
    facet: {
      column: {
        field: "storm",
        type: "nominal",
        sort: storms,
        title: null,
        header: { labelFontWeight: "bold" },
      },
    },
    spec: {
      width: 300,
      height: 220,
      layer: [
        { mark: { type: "line", point: true } },
        {
          mark: { type: "text", align: "left", dx: 6, dy: -8, fontSize: 9 },
          transform: [{ filter: { field: "label", oneOf: ["p50", "p99"] } }],
          encoding: { text: { field: "ms", type: "quantitative", format: ",.1f" } },
        },
      ],
      encoding: {
        x: { field: "label", type: "ordinal", sort: labels, title: "percentile", axis: { labelAngle: 0 } },
        y: { field: "ms", type: "quantitative", scale: { type: "log" }, title: "ms from put to event" },
        color: {
          field: "client",
          type: "nominal",
          scale: { domain: order, range: order.map(colorOf) },
          legend: { orient: "top", title: null },
        },
      },
    },
    resolve: { scale: { y: "independent" } },
    config: { font: "Helvetica, Arial, sans-serif" },
  };
}

/** One point of a cost-against-size series of `npm run bench:scale`. */
export interface ScalePoint {
  size: number;
  [metric: string]: number;
}

/** What `npm run bench:scale` writes (bench/results/scale.json); the chart reads `bySize` and the run facts. */
export interface ScaleResults {
  measuredAt: string;
  node: string;
  cores: number;
  loadAverageAtStart: number[];
  /** Cost against size: null for a series the run could not measure (the watch cache before it existed). */
  bySize: Record<string, ScalePoint[] | null>;
  [key: string]: unknown;
}

/** The panels of the scale chart: which series, which figure, and its title. */
const scalePanels = [
  { series: "cacheEntries", metric: "cpuUsPerUpdate", title: "watch cache: CPU µs per update" },
  { series: "cacheEntries", metric: "heapBytesPerEntry", title: "watch cache: heap bytes per entry" },
  { series: "watches", metric: "heapBytesPerWatch", title: "idle watches: heap bytes per watch" },
  { series: "watches", metric: "resumeCpuUsPerWatch", title: "watch resume after a cut: CPU µs per watch" },
  { series: "leases", metric: "cpuUsPerLeaseSecond", title: "kept leases: CPU µs per lease per second" },
  { series: "leases", metric: "rssMiB", title: "kept leases: process RSS, MiB" },
] as const;

/**
 * `npm run bench:scale`: a panel per cost (per cache entry, per watch, per lease), size on a log axis from
 * 1,000 to 100,000, each panel with its own y scale. A flat line is what issue 15 asks for.
 */
export function scaleChartSpec(results: ScaleResults): TopLevelSpec {
  const rows: { panel: string; size: number; value: number }[] = [];
  const panels: string[] = [];
  for (const p of scalePanels) {
    const points = results.bySize[p.series];
    if (!points) continue;
    panels.push(p.title);
    for (const point of points) {
      const value = point[p.metric];
      if (typeof value === "number" && Number.isFinite(value))
        rows.push({ panel: p.title, size: point.size, value });
    }
  }
  return {
    $schema: "https://vega.github.io/schema/vega-lite/v6.json",
    title: {
      text: "npm run bench:scale: etcd-ts's cost against the size of the work",
      subtitle: `run of ${runTime(results.measuredAt)}; Node ${results.node}, ${results.cores} cores, load average ${results.loadAverageAtStart.join(" ")} at start; flat is the goal`,
      anchor: "start",
    },
    data: { values: rows },
    facet: {
      field: "panel",
      type: "nominal",
      sort: panels,
      title: null,
      header: { labelFontWeight: "bold" },
    },
    columns: 2,
    spec: {
      width: 260,
      height: 140,
      layer: [
        { mark: { type: "line", point: true, color: colorOf("etcd-ts") } },
        {
          mark: { type: "text", align: "left", dx: 5, dy: -7, fontSize: 9 },
          encoding: { text: { field: "value", type: "quantitative", format: ",.3~r" } },
        },
      ],
      encoding: {
        x: {
          field: "size",
          type: "quantitative",
          scale: { type: "log", domain: [800, 130_000] },
          axis: { values: [1000, 10_000, 100_000], format: "~s" },
          title: "entries, watches or leases",
        },
        y: { field: "value", type: "quantitative", scale: { zero: true }, title: null },
      },
    },
    resolve: { scale: { y: "independent" } },
    config: { font: "Helvetica, Arial, sans-serif" },
  };
}
