import { type ChildProcess, spawn } from "node:child_process";
import { createInterface } from "node:readline";

/** A distinct, never-dialed `host:port` for instance `i` (the discovery benches only need unique keys). */
export function fakeAddr(i: number): string {
  return `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}:8080`;
}

/** Runs `task(i)` for i in [0, count) with at most `inFlight` running at once; returns results in order. */
export async function inBatches<T>(
  count: number,
  inFlight: number,
  task: (i: number) => Promise<T>,
): Promise<T[]> {
  const results = new Array<T>(count);
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(inFlight, count) }, async () => {
      while (next < count) {
        const i = next++;
        results[i] = await task(i);
      }
    }),
  );
  return results;
}

/** The p-th quantile (0..1) of sorted numbers, rounded to 0.01; NaN when empty. */
export function quantile(sorted: readonly number[], p: number): number {
  const v = sorted[Math.min(sorted.length - 1, Math.floor((sorted.length - 1) * p))];
  return v === undefined ? Number.NaN : Math.round(v * 100) / 100;
}

/** Rounds to 0.01. */
export function round2(n: number): number {
  return Math.round(n * 100) / 100;
}

/** A running child script (`bench/discovery-child.ts` by default) and a promise of the first line equal to `line` on its stdout. */
export interface Child {
  process: ChildProcess;
  /** Resolves when the child prints the awaited line; rejects if it exits first or after `timeoutMs`. */
  said: Promise<void>;
}

/** Starts `bench/<script>` (default `discovery-child.ts`) under tsx with `args`, waiting for `line`. */
export function startChild(
  args: string[],
  line: string,
  timeoutMs = 60_000,
  script = "discovery-child.ts",
): Child {
  const child = spawn(
    process.execPath,
    ["--import", "tsx", new URL(`./${script}`, import.meta.url).pathname, ...args],
    { stdio: ["ignore", "pipe", "inherit"] },
  );
  const said = new Promise<void>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`child ${args[0]} silent for ${timeoutMs} ms`)),
      timeoutMs,
    );
    createInterface({ input: child.stdout! }).on("line", (l) => {
      if (l.trim() !== line) return;
      clearTimeout(timer);
      resolve();
    });
    child.once("exit", (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`child ${args[0]} exited (${code ?? signal}) before "${line}"`));
    });
  });
  said.catch(() => {});
  return { process: child, said };
}

/** Cumulative user + system CPU of this process, µs. */
export function cpuMicros(): number {
  const u = process.cpuUsage();
  return u.user + u.system;
}

/** Forces a full GC (needs `node --expose-gc`) and returns heapUsed; NaN without `--expose-gc`. */
export function heapAfterGc(): number {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (!gc) return Number.NaN;
  gc();
  gc();
  return process.memoryUsage().heapUsed;
}
