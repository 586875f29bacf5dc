/** One measured scenario: ops/s, client CPU (user + system of the client's process) per op, p50 latency. */
export interface Measurement {
  opsPerSec: number;
  cpuUsPerOp: number;
  ops: number;
  errors: number;
  /** Length of the measured window(s), ms. */
  elapsedMs: number;
  /**
   * Median latency of the successful calls, µs; over several windows, the median of the windows' p50s.
   * Absent in results recorded before it was measured.
   */
  p50Us?: number;
}

/** Options of {@link measure}. */
export interface MeasureOptions {
  /** Calls kept in flight at once. */
  concurrency: number;
  /** Length of the measured window, ms. */
  durationMs: number;
  /** Unmeasured run before the window (JIT, connections), ms. */
  warmupMs: number;
}

/** What one measured window counted, in whichever process ran it (this one, or bench/go). */
export interface WindowCounts {
  ops: number;
  errors: number;
  elapsedMs: number;
  /** CPU (user + system) of the process that made the calls, over the window, µs. */
  cpuUs: number;
  /** Median latency of the successful calls, µs; NaN when there was none. */
  p50Us: number;
}

/**
 * Runs `op` with `concurrency` calls in flight, first for `warmupMs` unmeasured, then for `durationMs`
 * measured. `op` gets a running index so callers can vary keys.
 */
export async function measure(
  op: (i: number) => Promise<unknown>,
  options: MeasureOptions,
): Promise<Measurement> {
  // No forced GC here: measured in one process (8 alternations), a full GC before each window made etcd3 8% dearer
  // per op and etcd-ts 13% cheaper (it drops compiled code and type feedback, which hurts the larger
  // library more), so it would tilt the comparison.
  await runFor(op, options.concurrency, options.warmupMs);
  const latencies: number[] = [];
  const cpu0 = process.cpuUsage();
  const t0 = process.hrtime.bigint();
  const { ops, errors } = await runFor(op, options.concurrency, options.durationMs, latencies);
  const elapsedNs = Number(process.hrtime.bigint() - t0);
  const cpu = process.cpuUsage(cpu0);
  return measurementOf({
    ops,
    errors,
    elapsedMs: elapsedNs / 1e6,
    cpuUs: cpu.user + cpu.system,
    p50Us: median(latencies) * 1000,
  });
}

/** The figures of one window, rounded as the results record them. */
export function measurementOf(w: WindowCounts): Measurement {
  return {
    ops: w.ops,
    errors: w.errors,
    opsPerSec: Math.round((w.ops / w.elapsedMs) * 1000),
    cpuUsPerOp: Math.round((w.cpuUs / Math.max(w.ops, 1)) * 10) / 10,
    elapsedMs: Math.round(w.elapsedMs * 10) / 10,
    // No successful call, no latency.
    ...(Number.isFinite(w.p50Us) ? { p50Us: Math.round(w.p50Us * 10) / 10 } : {}),
  };
}

/** Adds up measurements of one client taken in several windows. */
export function combine(parts: readonly Measurement[]): Measurement {
  let ops = 0;
  let errors = 0;
  let elapsedMs = 0;
  let cpuUs = 0;
  for (const m of parts) {
    ops += m.ops;
    errors += m.errors;
    elapsedMs += m.elapsedMs;
    cpuUs += m.cpuUsPerOp * m.ops;
  }
  const p50s = parts.flatMap((m) => (m.p50Us === undefined ? [] : [m.p50Us]));
  return {
    ops,
    errors,
    opsPerSec: Math.round((ops / elapsedMs) * 1000),
    cpuUsPerOp: Math.round((cpuUs / Math.max(ops, 1)) * 10) / 10,
    elapsedMs: Math.round(elapsedMs * 10) / 10,
    ...(p50s.length > 0 ? { p50Us: Math.round(median(p50s) * 10) / 10 } : {}),
  };
}

/** The median of `values` (the lower middle one of an even count), NaN when empty. Sorts `values`. */
export function median(values: number[]): number {
  if (values.length === 0) return Number.NaN;
  values.sort((a, b) => a - b);
  return values[Math.floor((values.length - 1) / 2)]!;
}

/** Runs the calls until the window ends; with `latencies`, pushes each successful call's time there (ms). */
async function runFor(
  op: (i: number) => Promise<unknown>,
  concurrency: number,
  durationMs: number,
  latencies?: number[],
): Promise<{ ops: number; errors: number }> {
  const deadline = performance.now() + durationMs;
  let ops = 0;
  let errors = 0;
  let next = 0;
  const worker = async () => {
    while (performance.now() < deadline) {
      const start = performance.now();
      try {
        await op(next++);
        ops++;
        latencies?.push(performance.now() - start);
      } catch {
        errors++;
      }
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  return { ops, errors };
}
