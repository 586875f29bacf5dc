/**
 * One client keeping leases alive, alone in its process, so its RSS is its own: `bench/scale.ts` bundles
 * this file with esbuild (tsx's loader alone adds about 50 MiB of RSS) and runs it once per client and size.
 * Arguments: `<etcd-ts|etcd3> <endpoint> <leases> <windowMs> [profile path]`. Grants the leases (TTL 30 s)
 * 64 at a time, lets them settle, then measures this process's CPU over the window (and profiles it when
 * a path is given: then the CPU figures include the profiler's own cost), sampling RSS every 250 ms.
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
  /** Largest RSS sampled during the window, MiB. */
  rssMiB: number;
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

const [client, endpoint, countArg, windowArg, profilePath] = process.argv.slice(2);
const count = Number(countArg);
const windowMs = Number(windowArg);
const TTL = 30;
const mib = (bytes: number) => Math.round((bytes / 1048576) * 10) / 10;

const rssBase = process.memoryUsage().rss;
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
// Settle: the grants' garbage collected, every lease on its refresh cycle.
await new Promise((r) => setTimeout(r, 3000));
const profile = profilePath ? await (await import("./profile.js")).startProfile(profilePath) : undefined;
let rssMax = 0;
const rssSeries: number[] = [];
const sampler = setInterval(() => {
  const rss = process.memoryUsage().rss;
  rssMax = Math.max(rssMax, rss);
  if (process.env.BENCH_RSS_SERIES) rssSeries.push(mib(rss));
}, 250);
const cpu0 = process.cpuUsage();
const t0 = performance.now();
await new Promise((r) => setTimeout(r, windowMs));
const cpu = process.cpuUsage(cpu0);
const elapsedMs = performance.now() - t0;
clearInterval(sampler);
const topFrames = await profile?.stop();
const memory = process.memoryUsage();
if (process.env.BENCH_RSS_SERIES) console.error(`rss series (MiB, every 250 ms): ${rssSeries.join(" ")}`);
const heapSpaces = getHeapSpaceStatistics();
await closeAll();
const cpuUs = cpu.user + cpu.system;
const result: LeaseChildResult = {
  client,
  leases: count,
  windowMs: Math.round(elapsedMs),
  percentOfOneCore: Math.round((cpuUs / 1000 / elapsedMs) * 100 * 100) / 100,
  cpuUsPerLeaseSecond: Math.round((cpuUs / count / (elapsedMs / 1000)) * 1000) / 1000,
  rssMiB: mib(rssMax),
  rssBaseMiB: mib(rssBase),
  rssAfterGrantsMiB: mib(rssAfterGrants),
  rssEndMiB: mib(memory.rss),
  heapUsedMiB: mib(memory.heapUsed),
  heapTotalMiB: mib(memory.heapTotal),
  externalMiB: mib(memory.external),
  loadAverage: loadavg().map((l) => Math.round(l * 100) / 100),
  heapSpacesMiB: Object.fromEntries(
    heapSpaces
      .filter((s) => s.space_size > 1048576)
      .map((s) => [s.space_name, mib(s.space_size)]),
  ),
  ...(topFrames && { topFrames }),
};
console.log(JSON.stringify(result));
process.exit(0);
