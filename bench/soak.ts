/**
 * `npm run bench:soak`: memory of one long-lived client over ten minutes of churn with its connections cut
 * every 2 to 4 s. The client is the soak program of test/process/soak.test.ts (test/fixtures/soak.ts, in a
 * process of its own with --expose-gc): it opens and closes watches (half never read, some replaying
 * history), kept leases (revoked or closed), caches, registrations, discoveries, Mutex and RWMutex holds,
 * mirrors, leasing KVs (gets, puts, txns), Queue/PriorityQueue and Barrier/DoubleBarrier waits, leader
 * observations, server-side locks and balanced transports with health checks (a health `Watch` stream per
 * instance, on the program's own servers), and samples its heap after GC and its RSS every 15 s. Writes
 * bench/results/soak.json (soak-auth.json with auth on): every sample, the live objects at the end (they
 * must equal what is open), and heap/RSS at the start and the end.
 * BENCH_SOAK_MS sets the churn (default 600000); BENCH_SOAK_SAMPLE_MS the sampling (default 15000);
 * BENCH_SOAK_ONLY runs only some churns (comma-separated names of the program's `churns` table);
 * BENCH_ETCD_VERSION the etcd line (default: the kit's); BENCH_SOAK_AUTH=1 turns auth on, the program
 * signing in as a user limited to its prefix, with simple tokens that expire after 2 s unused (the auth-on
 * variant of test/process/soak.test.ts, for as long as BENCH_SOAK_MS).
 */
import { spawn } from "node:child_process";
import { mkdir, writeFile } from "node:fs/promises";
import { loadavg } from "node:os";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { startProcessCluster } from "../test/process/support.js";

const CHURN_MS = Number(process.env.BENCH_SOAK_MS ?? 600_000);
const SAMPLE_EVERY_MS = Number(process.env.BENCH_SOAK_SAMPLE_MS ?? 15_000);
/** Only these churns of the soak program (comma-separated names, e.g. `mirrors,queues`), to find what grows. */
const ONLY = process.env.BENCH_SOAK_ONLY?.split(",");
const KEEP_WATCHES = 5;
const MiB = 2 ** 20;

interface Sample {
  type: string;
  at: number;
  heapUsed: number;
  rss: number;
  live: Record<string, number>;
  opened: Record<string, number>;
  released?: boolean;
  open?: Record<string, number>;
  /** Health `Watch` streams open on the soak program's own servers. */
  healthWatches?: number;
}

const AUTH = process.env.BENCH_SOAK_AUTH === "1";
const PREFIX = "soak/";
const pc = await startProcessCluster({
  auth: AUTH,
  prefix: PREFIX,
  permission: "readwrite",
  version: process.env.BENCH_ETCD_VERSION,
});
const { proxy } = pc;
const fixture = fileURLToPath(new URL("../test/fixtures/soak.ts", import.meta.url));
const config = {
  endpoint: proxy.url,
  auth: pc.childAuth,
  churnMs: CHURN_MS,
  sampleEveryMs: SAMPLE_EVERY_MS,
  keepWatches: KEEP_WATCHES,
  prefix: PREFIX,
  only: ONLY,
};
const child = spawn(process.execPath, ["--expose-gc", "--import", "tsx", fixture, JSON.stringify(config)], {
  stdio: ["ignore", "pipe", "inherit"],
});
const samples: Sample[] = [];
let churned: Sample | undefined;
const lines = createInterface({ input: child.stdout! });
const done = (async () => {
  for await (const line of lines) {
    const event = JSON.parse(line) as Sample;
    if (event.type === "sample") {
      samples.push(event);
      console.log(
        `${String(Math.round((event.at - samples[0]!.at) / 1000)).padStart(4)} s  heap ${(event.heapUsed / MiB).toFixed(1)} MiB  rss ${(event.rss / MiB).toFixed(1)} MiB  live ${JSON.stringify(event.live)}`,
      );
    }
    if (event.type === "churned") {
      churned = event;
      child.kill("SIGUSR2");
    }
  }
})();

let cuts = 0;
let exited = false;
child.once("exit", () => {
  exited = true;
});
while (!exited && churned === undefined) {
  await new Promise((resolve) => setTimeout(resolve, 2_000 + Math.random() * 2_000));
  if (churned === undefined && !exited) {
    proxy.cut();
    cuts++;
  }
}
await done;
await pc.close();

const first = samples[0];
const last = samples.at(-1);
if (!first || !last || !churned) throw new Error("the soak program ended before it reported");
const result = {
  command: "npm run bench:soak",
  when: new Date().toISOString(),
  churnMs: CHURN_MS,
  etcd: process.env.BENCH_ETCD_VERSION ?? process.env.ETCD_VERSION ?? "kit default",
  auth: AUTH ? "on, tokens expiring after 2 s unused" : "off",
  cuts,
  loadAverageAtEnd: loadavg(),
  heapAfterGcMiB: {
    start: first.heapUsed / MiB,
    end: last.heapUsed / MiB,
    max: Math.max(...samples.map((s) => s.heapUsed)) / MiB,
  },
  rssMiB: { start: first.rss / MiB, end: last.rss / MiB, max: Math.max(...samples.map((s) => s.rss)) / MiB },
  opened: churned.opened,
  liveAfterChurn: churned.live,
  openAfterChurn: churned.open,
  released: churned.released,
  healthWatchesAfterChurn: churned.healthWatches,
  samples: samples.map((s) => ({ atMs: s.at - first.at, heapUsed: s.heapUsed, rss: s.rss, live: s.live })),
};
await mkdir(new URL("results/", import.meta.url), { recursive: true });
const out = AUTH ? "results/soak-auth.json" : "results/soak.json";
await writeFile(new URL(out, import.meta.url), `${JSON.stringify(result, null, 2)}\n`);
console.log(
  `soak: ${CHURN_MS / 1000} s, ${cuts} cuts; heap after GC ${result.heapAfterGcMiB.start.toFixed(1)} -> ${result.heapAfterGcMiB.end.toFixed(1)} MiB (max ${result.heapAfterGcMiB.max.toFixed(1)}); RSS ${result.rssMiB.start.toFixed(1)} -> ${result.rssMiB.end.toFixed(1)} MiB (max ${result.rssMiB.max.toFixed(1)}); live after churn ${JSON.stringify(churned.live)} (open ${JSON.stringify(churned.open)}, released ${churned.released}, health watches ${churned.healthWatches}); opened ${JSON.stringify(churned.opened)}`,
);
