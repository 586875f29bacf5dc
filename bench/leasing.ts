/**
 * `npm run bench:leasing`: reads of keys a leasing KV owns (`LeasingKv.open(etcd, prefix)`, answered from memory)
 * against plain `etcd.get()` of the same keys, in one run on one etcd member (a throwaway one from the
 * test kit unless ETCD_ENDPOINTS is set). 100 keys of 100-byte values; each way reads them round-robin,
 * one read at a time and then 64 in flight, for BENCH_LEASING_READS reads (default 20,000). Prints
 * reads per second and CPU of this process (user + system) per read, and the ratios of the two;
 * writes bench/results/leasing.json.
 */
import { writeFile } from "node:fs/promises";
import { cpus, loadavg } from "node:os";
import { Etcd, LeasingKv } from "../src/index.js";
import { startEtcd } from "../src/testing/index.js";
import { cpuMicros, round2 } from "./discovery-support.js";

const READS = Number(process.env.BENCH_LEASING_READS ?? 20_000);
const KEYS = 100;
const IN_FLIGHT = 64;
const RUN = `bl${Date.now().toString(36)}`;

interface ReadResult {
  reads: number;
  readsPerSec: number;
  cpuUsPerRead: number;
}

/** Runs `READS` reads with `inFlight` at a time, round-robin over the keys. */
async function measure(read: (key: string) => Promise<unknown>, inFlight: number): Promise<ReadResult> {
  let next = 0;
  const worker = async () => {
    while (next < READS) {
      const i = next++;
      await read(`${RUN}/k${i % KEYS}`);
    }
  };
  const cpu0 = cpuMicros();
  const t0 = performance.now();
  await Promise.all(Array.from({ length: inFlight }, worker));
  const seconds = (performance.now() - t0) / 1000;
  const cpu = cpuMicros() - cpu0;
  return { reads: READS, readsPerSec: Math.round(READS / seconds), cpuUsPerRead: round2(cpu / READS) };
}

async function main(): Promise<void> {
  const external = process.env.ETCD_ENDPOINTS?.split(",")[0];
  const cluster = external ? undefined : await startEtcd();
  const endpoint = external ?? cluster!.endpoint;
  const etcd = new Etcd({ endpoints: [endpoint] });
  const out: Record<string, unknown> = {
    measuredAt: new Date().toISOString(),
    node: process.version,
    cores: cpus().length,
    loadAverageAtStart: loadavg().map(round2),
    reads: READS,
    keys: KEYS,
  };
  try {
    console.log(
      `etcd at ${endpoint}; ${cpus().length} cores; load average ${loadavg().map(round2).join(", ")}`,
    );
    const value = "v".repeat(100);
    for (let i = 0; i < KEYS; i++) await etcd.put(`${RUN}/k${i}`, value);
    const lkv = await LeasingKv.open(etcd, `${RUN}-lease/`);
    try {
      // Acquire every key once (one txn each): what follows is answered from memory.
      for (let i = 0; i < KEYS; i++) await lkv.get(`${RUN}/k${i}`);
      if (lkv.ownedKeys !== KEYS) throw new Error(`owns ${lkv.ownedKeys} of ${KEYS} keys`);
      for (const inFlight of [1, IN_FLIGHT]) {
        const plain = await measure((k) => etcd.get(k), inFlight);
        const leasing = await measure((k) => lkv.get(k), inFlight);
        const ratio = {
          readsPerSec: round2(leasing.readsPerSec / plain.readsPerSec),
          /** How many times less CPU a read from memory costs. */
          plainCpuOverLeasingCpu: round2(plain.cpuUsPerRead / leasing.cpuUsPerRead),
        };
        out[`inFlight${inFlight}`] = { plain, leasing, leasingOverPlain: ratio };
        console.log(`\n${inFlight} in flight:`);
        console.log(`  plain get():   ${plain.readsPerSec} reads/s, ${plain.cpuUsPerRead} µs CPU/read`);
        console.log(`  leasing get(): ${leasing.readsPerSec} reads/s, ${leasing.cpuUsPerRead} µs CPU/read`);
        console.log(
          `  leasing: ${ratio.readsPerSec}x the reads/s of plain get(), ${ratio.plainCpuOverLeasingCpu}x less CPU per read`,
        );
      }
    } finally {
      await lkv.close();
    }
  } finally {
    await etcd.delete({ prefix: `${RUN}/` }).catch(() => {});
    await etcd.close();
    await cluster?.close();
  }
  out.loadAverageAtEnd = loadavg().map(round2);
  await writeFile(new URL("./results/leasing.json", import.meta.url), `${JSON.stringify(out, null, 2)}\n`);
  console.log("\nwrote bench/results/leasing.json");
}

await main();
