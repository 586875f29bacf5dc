import { SpanKind, SpanStatusCode } from "@opentelemetry/api";
import {
  AggregationTemporality,
  DataPointType,
  type Histogram,
  MeterProvider,
  MetricReader,
} from "@opentelemetry/sdk-metrics";
import {
  BasicTracerProvider,
  InMemorySpanExporter,
  type ReadableSpan,
  SimpleSpanProcessor,
} from "@opentelemetry/sdk-trace-base";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Etcd } from "../../src/client/index.js";
import { instrumentEtcd, type RpcSemconv } from "../../src/otel/index.js";
import { type EtcdCluster, FaultProxy, startEtcd } from "../../src/testing/index.js";
import { collect } from "../support/collect.js";
import { until, within } from "../support/wait.js";

/**
 * `etcd-ts/otel` against real etcd, with the SDK's in-memory exporters: a failover (the first endpoint,
 * a FaultProxy in front of the member, cut and refusing) gives a failed attempt span on it and a
 * successful retry span on the next endpoint; the watch stream gets a span from open to close.
 */
class TestReader extends MetricReader {
  protected async onForceFlush(): Promise<void> {}
  protected async onShutdown(): Promise<void> {}
}

/** One instrumentation with its own providers and exporters. */
function instrumented(semconv: RpcSemconv) {
  const exporter = new InMemorySpanExporter();
  const tracerProvider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
  const reader = new TestReader({ aggregationTemporalitySelector: () => AggregationTemporality.CUMULATIVE });
  const meterProvider = new MeterProvider({ readers: [reader] });
  const instrumentation = instrumentEtcd({ tracerProvider, meterProvider, semconv });
  return { exporter, reader, instrumentation, tracerProvider, meterProvider };
}

let cluster: EtcdCluster;
let proxy: FaultProxy;

beforeAll(async () => {
  cluster = await startEtcd();
  proxy = await FaultProxy.start(cluster.endpoint);
});

afterAll(async () => {
  await proxy?.close();
  await cluster?.close();
});

const port = (url: string) => Number(new URL(url).port);
const attempts = (spans: ReadableSpan[], name: string) =>
  spans
    .filter((s) => s.name === name)
    .map((s) => ({ attributes: s.attributes, status: s.status, kind: s.kind }));

describe("etcd-ts/otel", { timeout: 60_000 }, () => {
  it("a failover: a failed attempt span on the dead endpoint, the retry's span on the next, and their durations", async () => {
    const old = instrumented("old");
    const stable = instrumented("stable");
    const etcd = new Etcd({
      endpoints: [proxy.url, cluster.endpoint],
      retry: { initialBackoffMs: 20, maxBackoffMs: 200 },
      streams: { backoff: { initialMs: 20, maxMs: 200 } },
    });
    try {
      await etcd.put("o/key", "v");
      const watch = etcd.watch("o/watched");
      const events = collect(watch);
      await watch.created;
      proxy.refuse();
      proxy.cut();
      expect((await within(etcd.get("o/key"), "the read after the cut"))?.text()).toBe("v");
      await etcd.put("o/watched", "after");
      await until("the watch to resume on the next endpoint", () => events.keys.length === 1);
      await watch.close();

      const server = { "server.address": "127.0.0.1" };
      expect(attempts(old.exporter.getFinishedSpans(), "etcdserverpb.KV/Range")).toEqual([
        {
          kind: SpanKind.CLIENT,
          attributes: {
            ...server,
            "server.port": port(proxy.url),
            "rpc.system": "grpc",
            "rpc.service": "etcdserverpb.KV",
            "rpc.method": "Range",
            "etcd.attempt": 1,
            "rpc.grpc.status_code": 14,
            "error.type": "UNAVAILABLE",
          },
          status: { code: SpanStatusCode.ERROR, message: expect.stringContaining(proxy.url) },
        },
        {
          kind: SpanKind.CLIENT,
          attributes: {
            ...server,
            "server.port": port(cluster.endpoint),
            "rpc.system": "grpc",
            "rpc.service": "etcdserverpb.KV",
            "rpc.method": "Range",
            "etcd.attempt": 2,
            "etcd.retry.reason": expect.stringContaining(proxy.url),
            "rpc.grpc.status_code": 0,
          },
          status: { code: SpanStatusCode.UNSET },
        },
      ]);
      const failed = old.exporter
        .getFinishedSpans()
        .find((s) => s.name === "etcdserverpb.KV/Range" && s.attributes["etcd.attempt"] === 1);
      expect(failed?.events.map((e) => e.name)).toEqual(["exception"]);

      // The stable conventions, from the same calls.
      expect(attempts(stable.exporter.getFinishedSpans(), "etcdserverpb.KV/Range")).toMatchObject([
        {
          attributes: {
            "rpc.system.name": "grpc",
            "rpc.method": "etcdserverpb.KV/Range",
            "rpc.response.status_code": "UNAVAILABLE",
            "error.type": "UNAVAILABLE",
            "server.port": port(proxy.url),
          },
        },
        {
          attributes: {
            "rpc.system.name": "grpc",
            "rpc.method": "etcdserverpb.KV/Range",
            "rpc.response.status_code": "OK",
            "server.port": port(cluster.endpoint),
          },
        },
      ]);
      expect(stable.exporter.getFinishedSpans()[0]!.attributes["rpc.system"]).toBeUndefined();

      // The watch stream: a span from open to close on each endpoint, the first ended as failed, the
      // second once the last watch closed.
      const streamSpans = () =>
        old.exporter.getFinishedSpans().filter((s) => s.name === "etcdserverpb.Watch/Watch");
      await until("the second watch stream to end", () => streamSpans().length === 2);
      const watchSpans = old.exporter
        .getFinishedSpans()
        .filter((s) => s.name === "etcdserverpb.Watch/Watch")
        .map((s) => ({
          port: s.attributes["server.port"],
          reason: s.attributes["etcd.stream.close_reason"],
          status: s.status.code,
          parent: s.parentSpanContext,
        }));
      expect(watchSpans).toEqual([
        { port: port(proxy.url), reason: "failed", status: SpanStatusCode.ERROR, parent: undefined },
        { port: port(cluster.endpoint), reason: "idle", status: SpanStatusCode.UNSET, parent: undefined },
      ]);

      // Durations: one histogram point per (method, endpoint, status).
      const { resourceMetrics } = await old.reader.collect();
      const duration = resourceMetrics.scopeMetrics
        .flatMap((s) => s.metrics)
        .find((m) => m.descriptor.name === "rpc.client.duration");
      expect(duration?.descriptor.unit).toBe("ms");
      expect(duration?.dataPointType).toBe(DataPointType.HISTOGRAM);
      const ranges = duration!.dataPoints
        .filter((p) => p.attributes["rpc.method"] === "Range")
        .map((p) => ({
          port: p.attributes["server.port"],
          status: p.attributes["rpc.grpc.status_code"],
          count: (p.value as Histogram).count,
        }));
      expect(ranges).toEqual(
        expect.arrayContaining([
          { port: port(proxy.url), status: 14, count: 1 },
          { port: port(cluster.endpoint), status: 0, count: 1 },
        ]),
      );
      const stableMetrics = (await stable.reader.collect()).resourceMetrics.scopeMetrics.flatMap(
        (s) => s.metrics,
      );
      expect(stableMetrics.map((m) => [m.descriptor.name, m.descriptor.unit])).toEqual([
        ["rpc.client.call.duration", "s"],
      ]);
    } finally {
      old.instrumentation.disable();
      stable.instrumentation[Symbol.dispose]();
      await etcd.close();
      await Promise.all([old.meterProvider.shutdown(), stable.meterProvider.shutdown()]);
      await Promise.all([old.tracerProvider.shutdown(), stable.tracerProvider.shutdown()]);
      proxy.heal();
    }
  });

  it("after disable() no span is made", async () => {
    const { exporter, instrumentation } = instrumented("old");
    instrumentation.disable();
    instrumentation.disable();
    const etcd = new Etcd({ endpoints: cluster.endpoint });
    try {
      await etcd.put("o/after", "v");
      expect(exporter.getFinishedSpans()).toEqual([]);
    } finally {
      await etcd.close();
    }
  });
});
