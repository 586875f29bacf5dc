/**
 * `etcd-ts/otel`: OpenTelemetry spans and metrics for etcd-ts, built on its diagnostics channels.
 * Needs `@opentelemetry/api` (an optional peer dependency of etcd-ts).
 * @packageDocumentation
 */

export {
  type EtcdInstrumentation,
  type EtcdInstrumentationOptions,
  instrumentEtcd,
  type RpcSemconv,
} from "./instrumentation.js";
