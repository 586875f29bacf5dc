/** The ratios `npm run bench` prints and records: each client against etcd3 and against Go's client. */
import type { Measurement } from "./measure.js";

/** Each client's ratios to the baseline clients of its server, as the results record them. */
export interface Ratios {
  /** ops/s, client / baseline. */
  ops: number;
  /** CPU µs per op, client / baseline. */
  cpu: number;
  /** p50 latency, client / baseline (recorded at every concurrency; printed at 1 in flight). */
  p50?: number;
}

/** A client's figures with its ratios to etcd3 (`vsEtcd3`) and to Go's client (`vsGo`) where they ran. */
export type WithRatios = Measurement & { vsEtcd3?: Ratios; vsGo?: Ratios };

/** The client a row is compared with: `base` on the same server (`etcd3@3.6` for `etcd-ts@3.6`). */
export function baselineOf(client: string, base: string): string {
  return `${base}${client.includes("@") ? client.slice(client.indexOf("@")) : ""}`;
}

/** `m` over `base`: ops/s, CPU per op and p50 latency ratios. */
export function ratiosOf(m: Measurement, base: Measurement): Ratios {
  const r = (x: number) => Math.round(x * 100) / 100;
  return {
    ops: r(m.opsPerSec / base.opsPerSec),
    cpu: r(m.cpuUsPerOp / base.cpuUsPerOp),
    ...(m.p50Us !== undefined && base.p50Us !== undefined ? { p50: r(m.p50Us / base.p50Us) } : {}),
  };
}

/** Each row with its ratios to etcd3 (`vsEtcd3`) and to Go's client (`vsGo`) of its server, where they ran. */
export function withRatios(rows: Record<string, Measurement>): Record<string, WithRatios> {
  return Object.fromEntries(
    Object.entries(rows).map(([client, m]) => {
      const etcd3 = rows[baselineOf(client, "etcd3")];
      const go = rows[baselineOf(client, "go")];
      return [
        client,
        { ...m, ...(etcd3 ? { vsEtcd3: ratiosOf(m, etcd3) } : {}), ...(go ? { vsGo: ratiosOf(m, go) } : {}) },
      ];
    }),
  );
}
