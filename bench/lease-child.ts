/**
 * One client keeping leases alive, alone in its process, so its RSS is its own: `bench/scale.ts` bundles
 * this file with esbuild (tsx's loader alone adds about 50 MiB of RSS) and runs it once per client and size.
 * Arguments: `<etcd-ts|etcd3> <endpoint> <leases> <settleMs> <windowMs> [profile path]`. Grants the leases
 * (TTL 30 s) 64 at a time, waits `settleMs` (V8 gives back what the burst of grants grew its heap by
 * only some 30 s later), then measures this process's CPU over the window (and profiles it when
 * a path is given: then the CPU figures include the profiler's own cost), sampling RSS every 250 ms
 * from the start.
 * Prints one JSON line: {@link LeaseChildResult}. Each client is a dynamic import, so bundled with
 * `--splitting` the process loads only the client it runs (importing etcd3 alone adds about 29 MiB of RSS).
 */
import { loadavg } from "node:os";
import { getHeapSpaceStatistics } from "node:v8";
import type { Lease as Etcd3Lease } from "etcd3";
import type { Lease } from "../src/index.js";
import { inBatches } from "./discovery-support.js";
import type { TopFrame } from "./profile.js";

/** What the child prints. */
export interface LeaseChildResult {
  client: string;
  leases: number;
  windowMs: number;
  percentOfOneCore: number;
  /** Client CPU per lease per second of keeping it alive, µs. */
  cpuUsPerLeaseSecond: number;
  /** Median RSS sampled during the window (steady state), MiB. */
  rssMiB: number;
  /** Largest RSS sampled from the start (the grants included), MiB. */
  rssPeakMiB: number;
  /** RSS before the client was created, MiB (the runtime and the bundle). */
  rssBaseMiB: number;
  /** RSS once every lease is granted, MiB. */
  rssAfterGrantsMiB: number;
  /** RSS at the end of the window, MiB. */
  rssEndMiB: number;
  heapUsedMiB: number;
  /** V8 heap reserved (used or not), MiB. */
  heapTotalMiB: number;
  /** Memory outside the V8 heap that JS objects hold (Buffers, nghttp2's), MiB. */
  externalMiB: number;
  loadAverage: number[];
  /** Size of each V8 heap space at the end of the window, MiB. */
  heapSpacesMiB: Record<string, number>;
  topFrames?: TopFrame[];
}

const [client, endpoint, countArg, settleArg, windowArg, profilePath] = process.argv.slice(2);
const count = Number(countArg);
const settleMs = Number(settleArg);
const windowMs = Number(windowArg);
const TTL = 30;
const mib = (bytes: number) => Math.round((bytes / 1048576) * 10) / 10;

const rssBase = process.memoryUsage().rss;
let rssPeak = rssBase;
let rssWindow: number[] | undefined;
const sampler = setInterval(() => {
  const rss = process.memoryUsage().rss;
  rssPeak = Math.max(rssPeak, rss);
  rssWindow?.push(rss);
}, 250);
let closeAll: () => Promise<void>;
if (client === "etcd-ts") {
  const { Etcd } = await import("../src/index.js");
  const etcd = new Etcd({ endpoints: [endpoint!] });
  const leases: Lease[] = await inBatches(count, 64, () => etcd.lease.grant(TTL));
  closeAll = async () => {
    await inBatches(leases.length, 256, (i) => leases[i]!.revoke().catch(() => {}));
    await etcd.close();
  };
} else if (client === "etcd3") {
  const { Etcd3 } = await import("etcd3");
  const etcd = new Etcd3({ hosts: endpoint! });
  const leases: Etcd3Lease[] = [];
  for (let i = 0; i < count; i++) {
    const lease = etcd.lease(TTL);
    lease.on("lost", () => {});
    leases.push(lease);
  }
  await inBatches(count, 64, (i) => leases[i]!.grant());
  closeAll = async () => {
    await inBatches(leases.length, 256, (i) => leases[i]!.revoke().catch(() => {}));
    etcd.close();
  };
} else {
  throw new Error(`unknown client ${client}`);
}

const rssAfterGrants = process.memoryUsage().rss;
// Settle: every lease on its refresh cycle, the heap back to its steady size.
await new Promise((r) => setTimeout(r, settleMs));
const profile = profilePath ? await (await import("./profile.js")).startProfile(profilePath) : undefined;
rssWindow = [];
const cpu0 = process.cpuUsage();
const t0 = performance.now();
await new Promise((r) => setTimeout(r, windowMs));
const cpu = process.cpuUsage(cpu0);
const elapsedMs = performance.now() - t0;
clearInterval(sampler);
const topFrames = await profile?.stop();
const memory = process.memoryUsage();
if (process.env.BENCH_RSS_SERIES) console.error(`RSS every 250 ms, MiB: ${rssWindow.map(mib).join(" ")}`);
const windowRss = rssWindow.sort((a, b) => a - b);
const heapSpaces = getHeapSpaceStatistics();
await closeAll();
const cpuUs = cpu.user + cpu.system;
const result: LeaseChildResult = {
  client,
  leases: count,
  windowMs: Math.round(elapsedMs),
  percentOfOneCore: Math.round((cpuUs / 1000 / elapsedMs) * 100 * 100) / 100,
  cpuUsPerLeaseSecond: Math.round((cpuUs / count / (elapsedMs / 1000)) * 1000) / 1000,
  rssMiB: mib(windowRss[Math.floor(windowRss.length / 2)] ?? Number.NaN),
  rssPeakMiB: mib(rssPeak),
  rssBaseMiB: mib(rssBase),
  rssAfterGrantsMiB: mib(rssAfterGrants),
  rssEndMiB: mib(memory.rss),
  heapUsedMiB: mib(memory.heapUsed),
  heapTotalMiB: mib(memory.heapTotal),
  externalMiB: mib(memory.external),
  loadAverage: loadavg().map((l) => Math.round(l * 100) / 100),
  heapSpacesMiB: Object.fromEntries(
    heapSpaces.filter((s) => s.space_size > 1048576).map((s) => [s.space_name, mib(s.space_size)]),
  ),
  ...(topFrames && { topFrames }),
};
console.log(JSON.stringify(result));
process.exit(0);
