/** One measured scenario: ops/s and client CPU (user + system of this process) per op. */
export interface Measurement {
  opsPerSec: number;
  cpuUsPerOp: number;
  ops: number;
  errors: number;
  /** Length of the measured window(s), ms. */
  elapsedMs: number;
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
  const cpu0 = process.cpuUsage();
  const t0 = process.hrtime.bigint();
  const { ops, errors } = await runFor(op, options.concurrency, options.durationMs);
  const elapsedNs = Number(process.hrtime.bigint() - t0);
  const cpu = process.cpuUsage(cpu0);
  return {
    ops,
    errors,
    opsPerSec: Math.round((ops / elapsedNs) * 1e9),
    cpuUsPerOp: Math.round(((cpu.user + cpu.system) / Math.max(ops, 1)) * 10) / 10,
    elapsedMs: Math.round(elapsedNs / 1e5) / 10,
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
  return {
    ops,
    errors,
    opsPerSec: Math.round((ops / elapsedMs) * 1000),
    cpuUsPerOp: Math.round((cpuUs / Math.max(ops, 1)) * 10) / 10,
    elapsedMs: Math.round(elapsedMs * 10) / 10,
  };
}

async function runFor(
  op: (i: number) => Promise<unknown>,
  concurrency: number,
  durationMs: number,
): Promise<{ ops: number; errors: number }> {
  const deadline = performance.now() + durationMs;
  let ops = 0;
  let errors = 0;
  let next = 0;
  const worker = async () => {
    while (performance.now() < deadline) {
      try {
        await op(next++);
        ops++;
      } catch {
        errors++;
      }
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  return { ops, errors };
}
