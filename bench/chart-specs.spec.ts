import { describe, expect, it } from "vitest";
import {
  type KvResults,
  kvChartSpec,
  latencyPoints,
  percentileLabel,
  runTime,
  type ScaleResults,
  type StormResult,
  scaleChartSpec,
  type WatchResults,
  watchLatencyChartSpec,
} from "./chart-specs.js";
import { renderSvg } from "./charts.js";
import type { Measurement } from "./measure.js";

const m = (opsPerSec: number, cpuUsPerOp: number): Measurement => ({
  opsPerSec,
  cpuUsPerOp,
  ops: opsPerSec * 3,
  errors: 0,
  elapsedMs: 3000,
});

const kv: KvResults = {
  measuredAt: "2026-11-25T12:41:48.993Z",
  node: "v20.20.2",
  cores: 2,
  durationMs: 3000,
  rounds: 5,
  put64: { etcd3: m(5411, 194.5), "etcd-ts": m(11986, 74), "some-new-client": m(100, 1) },
  txn10: { "etcd-ts": m(4320, 121.6), etcd3: m(3508, 231.2) },
};

type Row = { scenario: string; client: string; metric: string; value: number };
const rowsOf = (spec: object) => (spec as { data: { values: Row[] } }).data.values;

describe("kvChartSpec", () => {
  it("has one ops/s and one CPU value per scenario and client, the run's own figures", () => {
    const rows = rowsOf(kvChartSpec(kv));
    expect(rows).toHaveLength(2 * 5);
    expect(rows).toContainEqual({
      scenario: "Put, 64 in flight",
      client: "Etcd API",
      metric: "ops/s (higher is better)",
      value: 11986,
    });
    expect(rows).toContainEqual({
      scenario: "Txn of 10 puts, 64 in flight",
      client: "etcd3",
      metric: "client CPU µs/op (lower is better)",
      value: 231.2,
    });
    // A client the chart has no label for keeps its name.
    expect(rows.filter((r) => r.client === "some-new-client")).toHaveLength(2);
  });

  it("keeps the run's scenario order, puts etcd-ts's clients before etcd3, and says which run it shows", () => {
    const spec = kvChartSpec(kv) as unknown as {
      title: { subtitle: string };
      facet: { row: { sort: string[] } };
      spec: { encoding: { y: { sort: string[] } } };
    };
    expect(spec.facet.row.sort).toEqual(["Put, 64 in flight", "Txn of 10 puts, 64 in flight"]);
    expect(spec.spec.encoding.y.sort).toEqual(["Etcd API", "etcd3", "some-new-client"]);
    expect(spec.title.subtitle).toContain("run of 12:41 UTC, 2026-11-25");
    expect(spec.title.subtitle).toContain("Node v20.20.2, 2 cores");
    expect(spec.title.subtitle).toContain("3000 ms per case and client in 5 interleaved rounds");
  });

  it("names Go's client (bench/go) in its bars and title when the run had it", () => {
    const withGo: KvResults = {
      ...kv,
      put64: { "etcd-ts": m(8000, 100), etcd3: m(4000, 200), go: m(16000, 40) },
    };
    const spec = kvChartSpec(withGo) as unknown as { title: { text: string } };
    expect(rowsOf(spec).filter((r) => r.client === "Go clientv3")).toHaveLength(2);
    expect(spec.title.text).toContain("Go's client");
    expect((kvChartSpec(kv) as unknown as { title: { text: string } }).title.text).not.toContain("Go");
  });
});

const storm = (watchers: number, p50Ms: number, p99Ms: number, percentiles?: number[][]): StormResult => ({
  watchers,
  puts: watchers === 1 ? 5000 : 300,
  events: 5000,
  eventsPerSec: 9000,
  p50Ms,
  p99Ms,
  ...(percentiles && {
    latencyPercentilesMs: percentiles.map(([percentile, ms]) => ({ percentile: percentile!, ms: ms! })),
  }),
});

describe("watchLatencyChartSpec", () => {
  it("draws every recorded percentile, a line per client and a panel per storm", () => {
    const results: WatchResults = {
      measuredAt: "2026-11-26T01:03:12.984Z",
      node: "v20.20.2",
      cores: 2,
      watch1: {
        "etcd-ts": storm(1, 5.3, 16.9, [
          [1, 1.2],
          [50, 5.3],
          [99, 16.9],
          [100, 30],
        ]),
        etcd3: storm(1, 8.8, 34.1, [
          [1, 2],
          [50, 8.8],
          [99, 34.1],
          [100, 60],
        ]),
      },
      watch1000: { "etcd-ts": storm(1000, 113, 203), etcd3: storm(1000, 254, 452) },
    };
    const spec = watchLatencyChartSpec(results) as unknown as {
      data: { values: { storm: string; client: string; label: string; ms: number }[] };
      facet: { column: { sort: string[] } };
      spec: { encoding: { x: { sort: string[] } } };
      title: { subtitle: string };
    };
    const rows = spec.data.values;
    expect(spec.facet.column.sort).toEqual(["1 watcher, 5,000 puts", "1,000 watchers, 300 puts"]);
    expect(rows.filter((r) => r.storm === "1 watcher, 5,000 puts")).toHaveLength(8);
    expect(rows).toContainEqual(expect.objectContaining({ client: "etcd3", label: "max", ms: 60 }));
    // Results recorded before the percentiles existed still chart their p50 and p99.
    expect(
      rows.filter((r) => r.storm === "1,000 watchers, 300 puts").map((r) => [r.client, r.label, r.ms]),
    ).toEqual([
      ["etcd-ts", "p50", 113],
      ["etcd-ts", "p99", 203],
      ["etcd3", "p50", 254],
      ["etcd3", "p99", 452],
    ]);
    expect(spec.spec.encoding.x.sort).toEqual(["p1", "p50", "p99", "max"]);
    expect(spec.title.subtitle).toContain("run of 01:03 UTC, 2026-11-26");
  });

  it("leaves out a storm the run skipped", () => {
    const spec = watchLatencyChartSpec({
      measuredAt: "2026-11-26T01:03:12.984Z",
      node: "v20.20.2",
      cores: 2,
      only: ["watch1000"],
      watch1000: { "etcd-ts": storm(1000, 113, 203) },
    }) as unknown as { facet: { column: { sort: string[] } } };
    expect(spec.facet.column.sort).toEqual(["1,000 watchers, 300 puts"]);
    expect((spec as unknown as { title: { subtitle: string } }).title.subtitle).toMatch(
      /^BENCH_ONLY=watch1000 run of /,
    );
  });
});

describe("labels", () => {
  it("names percentiles and run times as the README does", () => {
    expect([1, 50, 99.9, 100].map(percentileLabel)).toEqual(["p1", "p50", "p99.9", "max"]);
    expect(runTime("2026-11-25T02:05:00.000Z")).toBe("02:05 UTC, 2026-11-25");
    expect(latencyPoints(storm(1, 5, 9, []))).toEqual([
      { percentile: 50, ms: 5 },
      { percentile: 99, ms: 9 },
    ]);
  });
});

describe("renderSvg", () => {
  it("renders a spec to an SVG that shows the run's figures", async () => {
    const svg = await renderSvg(kvChartSpec(kv));
    expect(svg.startsWith("<svg")).toBe(true);
    expect(svg).toContain("11,986");
    expect(svg).toContain("run of 12:41 UTC, 2026-11-25");
  });
});

describe("scaleChartSpec", () => {
  const scale: ScaleResults = {
    measuredAt: "2026-11-26T02:26:13.000Z",
    node: "v20.20.2",
    cores: 2,
    loadAverageAtStart: [4.02, 2.78, 3.72],
    bySize: {
      cacheEntries: null,
      watches: [
        { size: 1000, heapBytesPerWatch: 1148, resumeCpuUsPerWatch: 147.5 },
        { size: 10000, heapBytesPerWatch: 836, resumeCpuUsPerWatch: Number.NaN },
      ],
      leases: [{ size: 1000, cpuUsPerLeaseSecond: 2.5, rssMiB: 60 }],
    },
  };
  type ScaleRow = { panel: string; size: number; value: number };
  const rows = (scaleChartSpec(scale) as { data: { values: ScaleRow[] } }).data.values;

  it("has a point per size and figure, the run's own, and leaves out a series the run lacks and figures that are not numbers", () => {
    expect(rows).toHaveLength(5);
    expect(rows).toContainEqual({ panel: "idle watches: heap bytes per watch", size: 10000, value: 836 });
    expect(rows).toContainEqual({ panel: "kept leases: process RSS, MiB", size: 1000, value: 60 });
    expect(rows.some((r) => r.panel.startsWith("watch cache"))).toBe(false);
  });

  it("renders to SVG", async () => {
    const svg = await renderSvg(scaleChartSpec(scale));
    expect(svg).toContain("<svg");
    expect(svg).toContain("idle watches: heap bytes per watch");
  });
});
