/**
 * Idle watches at scale, one etcd-ts client alone in its process (`bench/scale.ts` bundles and runs it):
 * `<endpoint> <watches>`, where the endpoint is a FaultProxy the parent controls. Opens the watches (each
 * on its own prefix, all on the client's one Watch stream), waits until every one is active, then prints
 * a JSON line with the heap per watch (after GC, so run under `--expose-gc`) and the process RSS.
 * Then it reads one line from stdin: the parent cut every connection just before writing it. From that
 * moment it measures the wall time until every watch is active again on a new stream and the CPU this
 * process spent on it, and prints a second JSON line: {@link ResumeResult}.
 */
import { once } from "node:events";
import { loadavg } from "node:os";
import { createInterface } from "node:readline";
import { Etcd, type Watcher } from "../src/index.js";

/** The first line the child prints. */
export interface IdleWatchResult {
  watches: number;
  /** V8 heap after GC, per watch (the client and its stream before the first watch left out), bytes. */
  heapBytesPerWatch: number;
  /** Process RSS with every watch active, MiB. */
  rssMiB: number;
  /** Wall time from the first watch asked to the last one active, ms. */
  openMs: number;
  loadAverage: number[];
}

/** The second line the child prints. */
export interface ResumeResult {
  watches: number;
  /** Wall time from the cut to the last watch active again, ms (the stream's first reconnect backoff included). */
  resumeMs: number;
  /** CPU of this process over that time, ms. */
  resumeCpuMs: number;
  /** Of which per watch, µs. */
  resumeCpuUsPerWatch: number;
  loadAverage: number[];
}

const [endpoint, countArg] = process.argv.slice(2);
const count = Number(countArg);
const gc = (globalThis as { gc?: () => void }).gc;
if (!gc) throw new Error("run under node --expose-gc");
const load = () => loadavg().map((l) => Math.round(l * 100) / 100);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Resolves once every watch is active; checks every `everyMs`, resuming from the first one not active. */
async function allActive(watches: readonly Watcher[], everyMs: number): Promise<void> {
  let next = 0;
  for (;;) {
    while (next < watches.length && watches[next]!.state === "active") next++;
    if (next === watches.length) return;
    await sleep(everyMs);
  }
}

const etcd = new Etcd({ endpoints: [endpoint!] });
// The client, its connection and its watch stream exist before the baseline: only watches are counted.
const first = etcd.watch({ key: "bench/watch-scale/baseline" });
await first.created;
await sleep(200);
gc();
gc();
const heap0 = process.memoryUsage().heapUsed;
const t0 = performance.now();
const watches: Watcher[] = [];
for (let i = 0; i < count; i++) watches.push(etcd.watch({ prefix: `bench/watch-scale/${i}/` }));
await allActive(watches, 20);
const openMs = performance.now() - t0;
await sleep(500);
gc();
gc();
const idle: IdleWatchResult = {
  watches: count,
  heapBytesPerWatch: Math.round((process.memoryUsage().heapUsed - heap0) / count),
  rssMiB: Math.round((process.memoryUsage().rss / 1048576) * 10) / 10,
  openMs: Math.round(openMs),
  loadAverage: load(),
};
console.log(JSON.stringify(idle));

const lines = createInterface({ input: process.stdin });
await once(lines, "line");
const cpu0 = process.cpuUsage();
const cutAt = performance.now();
// The hub sees the cut when the socket errors: wait until it has, then until every watch is back.
while (watches[0]!.state === "active") await sleep(1);
await allActive(watches, 5);
const resumeMs = performance.now() - cutAt;
const cpu = process.cpuUsage(cpu0);
const resumeCpuMs = (cpu.user + cpu.system) / 1000;
const resume: ResumeResult = {
  watches: count,
  resumeMs: Math.round(resumeMs),
  resumeCpuMs: Math.round(resumeCpuMs),
  resumeCpuUsPerWatch: Math.round((resumeCpuMs / count) * 1000 * 100) / 100,
  loadAverage: load(),
};
console.log(JSON.stringify(resume));
lines.close();
await Promise.all(watches.map((w) => w.close()));
first.close();
await etcd.close();
