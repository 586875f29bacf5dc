/**
 * `npm run bench:cache`: `etcd.cache()` over 10,000 and 100,000 keys (about 20-byte keys, 100-byte
 * values) against one etcd member (a throwaway one from the test kit unless ETCD_ENDPOINTS is set).
 * - the first read of the range: wall time and CPU of this process;
 * - memory per entry beyond its key and value bytes: heap after GC, and RSS (which also keeps what the
 *   allocator did not give back, so it is the rougher figure);
 * - CPU of this process per cache update, while a child process writes (so its CPU is not counted):
 *   single puts, 64 in flight (about one watch response per update), and txns of 100 puts (100 events per
 *   response). Counted from the first update applied to the last, divided by the updates in between;
 * - the same updates through a plain watch that keeps nothing (`etcd.watch()`, once): the share of the
 *   CPU that is the watch stream's (HTTP/2, protobuf, the watch hub), not the cache's;
 * - the store alone (no network, no protobuf): one update of an existing key, CPU per update.
 * Process CPU (user + system), not wall time: the machine may be shared. Writes bench/results/cache.json.
 * BENCH_CACHE_TRANSPORT=http2 reads through `node:http2` instead of the default transport (h2-net), to tell
 * the transport's share of a change from the cache's.
 * Run under `node --expose-gc` (the npm script does) for the heap figures.
 */
import { writeFile } from "node:fs/promises";
import { cpus, loadavg } from "node:os";
import { toByteString } from "../src/client/cache/byte-string.js";
import { SortedEntries } from "../src/client/cache/sorted-entries.js";
import { Etcd, op } from "../src/index.js";
import { startEtcd } from "../src/testing/index.js";
import { benchKey, benchValue } from "./cache-support.js";
import { cpuMicros, heapAfterGc, inBatches, round2, startChild } from "./discovery-support.js";

const SIZES = (process.env.BENCH_CACHE_SIZES ?? "10000,100000").split(",").map(Number);
const PUT_UPDATES = Number(process.env.BENCH_CACHE_PUT_UPDATES ?? 6000);
const TXN_UPDATES = Number(process.env.BENCH_CACHE_TXN_UPDATES ?? 30_000);
const TXN_BATCH = 100;
const TRANSPORT = process.env.BENCH_CACHE_TRANSPORT as "http2" | "h2-net" | undefined;
const STORE_UPDATES = 300_000;
/** Puts per txn when loading (the throwaway member is started with --max-txn-ops to match). */
const LOAD_BATCH = process.env.ETCD_ENDPOINTS ? 128 : 1000;
const RUN = `bc${Date.now().toString(36)}`;

interface UpdateResult {
  /** Updates between the first and the last one applied (the measured window). */
  updates: number;
  cpuUsPerUpdate: number;
  updatesPerSec: number;
}

interface SizeResult {
  entries: number;
  keyValueBytesPerEntry: number;
  initialLoadMs: number;
  initialLoadCpuMs: number;
  heapBytesPerEntryBeyondKeyValue: number;
  rssBytesPerEntryBeyondKeyValue: number;
  puts: UpdateResult;
  txns: UpdateResult & { putsPerTxn: number };
  storeOnlyCpuUsPerUpdate: number;
}

/** The same updates through a plain watch that keeps nothing. */
interface WatchOnlyResult {
  puts: UpdateResult;
  txns: UpdateResult & { putsPerTxn: number };
}

/** Writes `n` keys, then measures the update phases through a plain watch instead of a cache. */
async function measureWatchOnly(endpoint: string, writer: Etcd, n: number): Promise<WatchOnlyResult> {
  const prefix = `${RUN}/watch/`;
  await load(writer, prefix, n);
  const client = new Etcd({ endpoints: [endpoint], transport: TRANSPORT });
  const { revision } = await client.range("warm-up");
  const follower = followWatch(client, prefix, revision + 1n);
  const puts = await updates(endpoint, writer, follower, prefix, n, PUT_UPDATES, 1);
  const txns = await updates(endpoint, writer, follower, prefix, n, TXN_UPDATES, TXN_BATCH);
  console.log(
    `\na plain watch that keeps nothing (${n} keys): ${puts.cpuUsPerUpdate} µs CPU per update with single puts, ${txns.cpuUsPerUpdate} µs with txns of ${TXN_BATCH}`,
  );
  follower.close();
  await client.close();
  await writer.delete({ prefix });
  return { puts, txns: { ...txns, putsPerTxn: TXN_BATCH } };
}

function rss(): number {
  heapAfterGc();
  return process.memoryUsage().rss;
}

/** Writes `n` keys under `prefix` in txns, 4 in flight. */
async function load(writer: Etcd, prefix: string, n: number): Promise<void> {
  await inBatches(Math.ceil(n / LOAD_BATCH), 4, (t) =>
    writer
      .txn()
      .onSuccess(
        ...Array.from({ length: Math.min(LOAD_BATCH, n - t * LOAD_BATCH) }, (_, j) => {
          const i = t * LOAD_BATCH + j;
          return op.put(benchKey(prefix, i), benchValue(i));
        }),
      )
      .commit(),
  );
}

/** What the update measurement follows: a cache, or a plain watch that keeps nothing. */
interface Follower {
  readonly revision: bigint;
  waitForRevision(revision: bigint): Promise<unknown>;
}

/** A plain watch of `prefix` from `from`, as a {@link Follower}: it only notes the last revision seen. */
function followWatch(client: Etcd, prefix: string, from: bigint): Follower & { close(): void } {
  let revision = from - 1n;
  const waiting: { revision: bigint; resolve: () => void }[] = [];
  const watcher = client.watch({ prefix }, { startRevision: from });
  watcher.on("batch", (batch) => {
    const last = batch.events[batch.events.length - 1];
    if (!last) return;
    revision = last.kv.modRevision;
    for (let i = waiting.length - 1; i >= 0; i--)
      if (waiting[i]!.revision <= revision) waiting.splice(i, 1)[0]!.resolve();
  });
  return {
    get revision() {
      return revision;
    },
    waitForRevision: (r) =>
      r <= revision
        ? Promise.resolve()
        : new Promise<void>((resolve) => waiting.push({ revision: r, resolve })),
    close: () => watcher.close(),
  };
}

/** A child rewrites `updates` keys, `batch` per txn (1: single puts); CPU of this process per update applied. */
async function updates(
  endpoint: string,
  writer: Etcd,
  cache: Follower,
  prefix: string,
  n: number,
  count: number,
  batch: number,
): Promise<UpdateResult> {
  const start = cache.revision;
  const child = startChild(
    ["update", endpoint, prefix, String(n), String(count), String(batch)],
    "done",
    120_000,
    "cache-child.ts",
  );
  // Counted from the first update applied: the child's start-up (idle here) is not in it.
  await cache.waitForRevision(start + 1n);
  const cpu0 = cpuMicros();
  const t0 = performance.now();
  const first = cache.revision;
  await child.said;
  const { revision: last } = await writer.range("no-such-key");
  await cache.waitForRevision(last);
  const cpuUs = cpuMicros() - cpu0;
  const elapsedMs = performance.now() - t0;
  const measured = Number(last - first) * batch;
  return {
    updates: measured,
    cpuUsPerUpdate: round2(cpuUs / measured),
    updatesPerSec: Math.round((measured / elapsedMs) * 1000),
  };
}

/** The store alone: `n` entries, then updates of existing keys with new values (byte strings made per update). */
function storeOnly(n: number): number {
  const store = new SortedEntries();
  const enc = new TextEncoder();
  const keys = Array.from({ length: n }, (_, i) => enc.encode(benchKey("s/", i)));
  const values = Array.from({ length: 1000 }, (_, i) => enc.encode(benchValue(i)));
  for (let i = 0; i < n; i++)
    store.set(toByteString(keys[i]!), toByteString(values[i % 1000]!), 1n, 1n, 1n, 0n);
  const cpu0 = cpuMicros();
  for (let i = 0; i < STORE_UPDATES; i++) {
    const k = (i * 7919) % n;
    const rev = BigInt(i + 2);
    store.set(toByteString(keys[k]!), toByteString(values[i % 1000]!), 1n, rev, rev, 0n);
  }
  return round2((cpuMicros() - cpu0) / STORE_UPDATES);
}

async function measureSize(endpoint: string, writer: Etcd, n: number): Promise<SizeResult> {
  const prefix = `${RUN}/${n}/`;
  const t = performance.now();
  await load(writer, prefix, n);
  console.log(`\n${n} keys written in ${Math.round(performance.now() - t)} ms`);
  let keyValueBytes = 0;
  for (let i = 0; i < n; i++) keyValueBytes += benchKey(prefix, i).length + benchValue(i).length;

  const client = new Etcd({ endpoints: [endpoint], transport: TRANSPORT });
  await client.get("warm-up"); // connection setup is not the cache's cost
  const heap0 = heapAfterGc();
  const rss0 = rss();
  const cpu0 = cpuMicros();
  const t0 = performance.now();
  const cache = client.cache({ prefix });
  await cache.ready;
  const initialLoadMs = performance.now() - t0;
  const initialLoadCpuMs = (cpuMicros() - cpu0) / 1000;
  if (cache.size !== n) throw new Error(`the cache holds ${cache.size} keys, not ${n}`);
  const heapBeyond = (heapAfterGc() - heap0 - keyValueBytes) / n;
  const rssBeyond = (rss() - rss0 - keyValueBytes) / n;
  console.log(
    `first read: ${Math.round(initialLoadMs)} ms wall, ${Math.round(initialLoadCpuMs)} ms CPU; beyond key + value bytes (${round2(keyValueBytes / n)} B/entry): heap ${Math.round(heapBeyond)} B/entry, RSS ${Math.round(rssBeyond)} B/entry`,
  );

  const puts = await updates(endpoint, writer, cache, prefix, n, PUT_UPDATES, 1);
  console.log(
    `single puts: ${puts.cpuUsPerUpdate} µs CPU per update (${puts.updates} updates, ${puts.updatesPerSec}/s)`,
  );
  const txns = await updates(endpoint, writer, cache, prefix, n, TXN_UPDATES, TXN_BATCH);
  console.log(
    `txns of ${TXN_BATCH} puts: ${txns.cpuUsPerUpdate} µs CPU per update (${txns.updates} updates, ${txns.updatesPerSec}/s)`,
  );
  // The cache still equals etcd after all that (a bench that measured a broken cache would be worthless).
  const truth = await writer.range({ prefix }, { revision: cache.revision, countOnly: true });
  if (truth.count !== BigInt(cache.size)) throw new Error(`cache ${cache.size} keys, etcd ${truth.count}`);
  const sample = benchKey(prefix, 4242 % n);
  const [mine, theirs] = [cache.get(sample), await writer.get(sample, { revision: cache.revision })];
  if (mine?.modRevision !== theirs?.modRevision || mine?.text() !== theirs?.text())
    throw new Error(`the cache differs from etcd at ${sample}`);
  await cache.close();
  await client.close();
  await writer.delete({ prefix });

  const storeOnlyCpuUsPerUpdate = storeOnly(n);
  console.log(`the store alone: ${storeOnlyCpuUsPerUpdate} µs CPU per update`);
  return {
    entries: n,
    keyValueBytesPerEntry: round2(keyValueBytes / n),
    initialLoadMs: Math.round(initialLoadMs),
    initialLoadCpuMs: Math.round(initialLoadCpuMs),
    heapBytesPerEntryBeyondKeyValue: Math.round(heapBeyond),
    rssBytesPerEntryBeyondKeyValue: Math.round(rssBeyond),
    puts,
    txns: { ...txns, putsPerTxn: TXN_BATCH },
    storeOnlyCpuUsPerUpdate,
  };
}

async function main(): Promise<void> {
  const external = process.env.ETCD_ENDPOINTS?.split(",")[0];
  const cluster = external ? undefined : await startEtcd({ args: [`--max-txn-ops=${LOAD_BATCH}`] });
  const endpoint = external ?? cluster!.endpoint;
  const writer = new Etcd({ endpoints: [endpoint], timeoutMs: 30_000 });
  const out: Record<string, unknown> = {
    measuredAt: new Date().toISOString(),
    node: process.version,
    cores: cpus().length,
    loadAverageAtStart: loadavg().map(round2),
  };
  const began = performance.now();
  const sizes: SizeResult[] = [];
  try {
    console.log(
      `etcd at ${endpoint}; ${cpus().length} cores; load average ${loadavg().map(round2).join(", ")}`,
    );
    for (const n of SIZES) sizes.push(await measureSize(endpoint, writer, n));
    out.watchOnly = await measureWatchOnly(endpoint, writer, SIZES[0]!);
  } finally {
    await writer.delete({ prefix: `${RUN}/` }).catch(() => {});
    await writer.close();
    await cluster?.close();
  }
  out.sizes = sizes;
  const [small, large] = [sizes[0], sizes[sizes.length - 1]];
  if (small && large && small !== large) {
    out.largeOverSmall = {
      puts: round2(large.puts.cpuUsPerUpdate / small.puts.cpuUsPerUpdate),
      txns: round2(large.txns.cpuUsPerUpdate / small.txns.cpuUsPerUpdate),
      storeOnly: round2(large.storeOnlyCpuUsPerUpdate / small.storeOnlyCpuUsPerUpdate),
    };
    console.log(`\n${large.entries} over ${small.entries} entries, CPU per update:`, out.largeOverSmall);
  }
  out.loadAverageAtEnd = loadavg().map(round2);
  out.totalSeconds = Math.round((performance.now() - began) / 1000);
  await writeFile(new URL("./results/cache.json", import.meta.url), `${JSON.stringify(out, null, 2)}\n`);
  console.log(`\nwrote bench/results/cache.json (${out.totalSeconds} s)`);
}

await main();
