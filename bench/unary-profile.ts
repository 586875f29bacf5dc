/**
 * A CPU profile of etcd-ts's `Etcd` API putting at 64 in flight, for docs/performance.md: `bench/scale.ts`
 * bundles and runs it in a process of its own. Arguments: `<endpoint> <ms> <profile path>`. After a
 * 2 s warm-up, profiles `ms` of puts and prints one JSON line: ops/s, CPU µs per op (profiler included)
 * and the top frames by self time.
 */
import { loadavg } from "node:os";
import { Etcd } from "../src/index.js";
import { measure } from "./measure.js";
import { startProfile } from "./profile.js";

const [endpoint, msArg, profilePath] = process.argv.slice(2);
const etcd = new Etcd({ endpoints: [endpoint!] });
const value = new Uint8Array(100).fill(0x61);
const put = (i: number) => etcd.put(`bench/put/${i % 1024}`, value);
await measure(put, { concurrency: 64, durationMs: 2000, warmupMs: 0 });
const profile = await startProfile(profilePath!, 25);
const m = await measure(put, { concurrency: 64, durationMs: Number(msArg), warmupMs: 0 });
const topFrames = await profile.stop();
await etcd.close();
console.log(
  JSON.stringify({
    opsPerSec: m.opsPerSec,
    cpuUsPerOpWithProfiler: m.cpuUsPerOp,
    loadAverage: loadavg().map((l) => Math.round(l * 100) / 100),
    topFrames,
  }),
);
