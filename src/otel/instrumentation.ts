import { subscribe, unsubscribe } from "node:diagnostics_channel";
import {
  type Attributes,
  context,
  type Histogram,
  type MeterProvider,
  metrics,
  ROOT_CONTEXT,
  type Span,
  SpanKind,
  SpanStatusCode,
  type TracerProvider,
  trace,
} from "@opentelemetry/api";
import {
  type CallErrorEvent,
  type CallEvent,
  diagnosticsChannels,
  type StreamEvent,
} from "../client/index.js";
import { grpcStatusName } from "./status-name.js";

/**
 * Which RPC semantic conventions to emit: `"old"` (the experimental ones up to semconv 1.37: `rpc.system`,
 * `rpc.service`, `rpc.method` = the short name, `rpc.grpc.status_code`, metric `rpc.client.duration` in
 * ms), `"stable"` (semconv 1.38 and later: `rpc.system.name`, `rpc.method` = `service/method`,
 * `rpc.response.status_code`, metric `rpc.client.call.duration` in s) or `"both"`.
 */
export type RpcSemconv = "old" | "stable" | "both";

/** Options of {@link instrumentEtcd}. */
export interface EtcdInstrumentationOptions {
  /** Where spans go. Default: the global tracer provider (`trace.getTracerProvider()`). */
  tracerProvider?: TracerProvider | undefined;
  /** Where metrics go. Default: the global meter provider (`metrics.getMeterProvider()`). */
  meterProvider?: MeterProvider | undefined;
  /**
   * The conventions to emit. Default: from `OTEL_SEMCONV_STABILITY_OPT_IN` as OpenTelemetry asks of RPC
   * instrumentations (`rpc/dup` → `"both"`, `rpc` → `"stable"`), else `"old"`.
   */
  semconv?: RpcSemconv | undefined;
}

/** A running instrumentation: {@link disable} (or `using`) unsubscribes it. */
export interface EtcdInstrumentation extends Disposable {
  /** Stops making spans and metrics (spans in progress are ended as they finish). Safe to call twice. */
  disable(): void;
}

const SCOPE = "etcd-ts";

/**
 * Turns etcd-ts's diagnostics channels into OpenTelemetry spans and metrics, following the RPC semantic
 * conventions (`rpc.system` grpc). It only subscribes to the channels (see docs/observability.md); it
 * patches nothing, and covers every `Etcd` client of the process, whichever transport.
 *
 * - One CLIENT span per attempt of a unary call, named after the method (`etcdserverpb.KV/Put`), a
 *   child of the active context; `etcd.attempt` numbers it and a retry carries `etcd.retry.reason` (the
 *   previous attempt's error). A failed attempt has status ERROR, `error.type` and the exception.
 * - One CLIENT span per long-lived stream (`etcdserverpb.Watch/Watch`,
 *   `etcdserverpb.Lease/LeaseKeepAlive`) from open to close, a root span, with
 *   `etcd.stream.close_reason`.
 * - The duration histogram of every attempt (`rpc.client.duration`, ms, and/or
 *   `rpc.client.call.duration`, s).
 *
 * Never a key, value, header, password or token in an attribute.
 */
export function instrumentEtcd(options: EtcdInstrumentationOptions = {}): EtcdInstrumentation {
  const semconv = options.semconv ?? semconvFromEnvironment();
  const old = semconv !== "stable";
  const stable = semconv !== "old";
  const tracer = (options.tracerProvider ?? trace.getTracerProvider()).getTracer(SCOPE);
  const meter = (options.meterProvider ?? metrics.getMeterProvider()).getMeter(SCOPE);
  const oldDuration: Histogram | undefined = old
    ? meter.createHistogram("rpc.client.duration", {
        description: "Measures the duration of outbound RPC.",
        unit: "ms",
      })
    : undefined;
  const stableDuration: Histogram | undefined = stable
    ? meter.createHistogram("rpc.client.call.duration", {
        description: "Measures the duration of an outgoing Remote Procedure Call (RPC).",
        unit: "s",
      })
    : undefined;
  const attempts = new WeakMap<CallEvent, { span: Span; startedAt: number }>();
  const streams = new WeakMap<StreamEvent, Span>();

  /** Attributes naming the RPC and the server, shared by spans and metrics. */
  const rpcAttributes = (method: string, service: string, rpcMethod: string, endpoint: string) => {
    const attributes: Attributes = serverAttributes(endpoint);
    if (old) {
      attributes["rpc.system"] = "grpc";
      attributes["rpc.service"] = service;
      attributes["rpc.method"] = rpcMethod;
    }
    if (stable) {
      attributes["rpc.system.name"] = "grpc";
      attributes["rpc.method"] = method;
    }
    return attributes;
  };

  /** Sets the status attributes of `code` (a gRPC status code) on `attributes`. */
  const statusAttributes = (attributes: Attributes, code: number) => {
    if (old) attributes["rpc.grpc.status_code"] = code;
    if (stable) attributes["rpc.response.status_code"] = grpcStatusName(code);
    if (code !== 0) attributes["error.type"] = grpcStatusName(code);
  };

  const onCallStart = (message: unknown) => {
    const event = message as CallEvent;
    const attributes = rpcAttributes(event.method, event.service, event.rpcMethod, event.endpoint);
    attributes["etcd.attempt"] = event.attempt;
    if (event.retryReason !== undefined) attributes["etcd.retry.reason"] = event.retryReason;
    const span = tracer.startSpan(event.method, { kind: SpanKind.CLIENT, attributes }, context.active());
    attempts.set(event, { span, startedAt: performance.now() });
  };

  const finishCall = (event: CallEvent, code: number) => {
    const started = attempts.get(event);
    if (!started) return;
    attempts.delete(event);
    const { span } = started;
    const attributes = rpcAttributes(event.method, event.service, event.rpcMethod, event.endpoint);
    statusAttributes(attributes, code);
    const elapsedMs = performance.now() - started.startedAt;
    oldDuration?.record(elapsedMs, attributes);
    stableDuration?.record(elapsedMs / 1000, attributes);
    const spanStatus: Attributes = {};
    statusAttributes(spanStatus, code);
    span.setAttributes(spanStatus);
    if (code !== 0 && event.error) {
      span.recordException(event.error);
      span.setStatus({ code: SpanStatusCode.ERROR, message: event.error.message });
    }
    span.end();
  };

  const onCallEnd = (message: unknown) => finishCall(message as CallEvent, 0);
  const onCallError = (message: unknown) => {
    const event = message as CallErrorEvent;
    finishCall(event, event.error.code);
  };

  const onStreamOpen = (message: unknown) => {
    const event = message as StreamEvent;
    const [service, rpcMethod] = event.method.split("/") as [string, string];
    const attributes = rpcAttributes(event.method, service, rpcMethod, event.endpoint);
    // A root span: the stream outlives whichever call happened to open it.
    streams.set(event, tracer.startSpan(event.method, { kind: SpanKind.CLIENT, attributes }, ROOT_CONTEXT));
  };

  const onStreamClose = (message: unknown) => {
    const event = message as StreamEvent;
    const span = streams.get(event);
    if (!span) return;
    streams.delete(event);
    span.setAttribute("etcd.stream.close_reason", event.reason ?? "closed");
    if (event.error) {
      span.recordException(event.error);
      span.setStatus({ code: SpanStatusCode.ERROR, message: event.error.message });
    }
    span.end();
  };

  const subscriptions: [string, (message: unknown, name: string | symbol) => void][] = [
    [diagnosticsChannels.callStart, onCallStart],
    [diagnosticsChannels.callEnd, onCallEnd],
    [diagnosticsChannels.callError, onCallError],
    [diagnosticsChannels.streamOpen, onStreamOpen],
    [diagnosticsChannels.streamClose, onStreamClose],
  ];
  for (const [name, fn] of subscriptions) subscribe(name, fn);
  let enabled = true;
  const disable = () => {
    if (!enabled) return;
    enabled = false;
    for (const [name, fn] of subscriptions) unsubscribe(name, fn);
  };
  return { disable, [Symbol.dispose]: disable };
}

/** `server.address` and `server.port` of an endpoint URL. */
function serverAttributes(endpoint: string): Attributes {
  const url = new URL(endpoint);
  const port = url.port === "" ? (url.protocol === "https:" ? 443 : 80) : Number(url.port);
  // URL keeps the brackets of an IPv6 host; semconv wants the address itself.
  return { "server.address": url.hostname.replace(/^\[(.*)\]$/, "$1"), "server.port": port };
}

/** The conventions `OTEL_SEMCONV_STABILITY_OPT_IN` asks for (`rpc/dup` wins over `rpc`). */
function semconvFromEnvironment(): RpcSemconv {
  let value: string | undefined;
  try {
    value = globalThis.process?.env?.OTEL_SEMCONV_STABILITY_OPT_IN;
  } catch {
    // Deno without --allow-env throws: the default applies.
  }
  const opted = (value ?? "").split(",").map((s) => s.trim());
  if (opted.includes("rpc/dup")) return "both";
  if (opted.includes("rpc")) return "stable";
  return "old";
}
