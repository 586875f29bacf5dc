/**
 * `npm run bench:memory`: what an HTTP/2 connection and an idle stream cost in memory, the h2-net
 * transport against the `node:http2` one in the same run, against one etcd member (a throwaway one from
 * the test kit unless ETCD_ENDPOINTS is set). Each measurement runs in a child process of its own (so one
 * transport's leftovers never count against the other), transports interleaved:
 * - connections: BENCH_MEMORY_CONNECTIONS (200) bare transports, each made live by one Range;
 * - watches: one `Etcd` client with BENCH_MEMORY_WATCHES (1,000 and 10,000) idle watches on distinct keys,
 *   all on its one Watch stream;
 * - streams: one bare transport with BENCH_MEMORY_STREAMS (1,000 and 10,000) idle HTTP/2 streams, each a Watch call
 *   whose one watch the server confirmed (so each stream is open at both ends).
 * Per item: heap (V8 heap used) + external (Buffers and native memory V8 knows of) after GC, and the RSS
 * growth (which also holds native memory V8 does not know of, such as nghttp2's). With Go, etcd's Go client
 * (bench/go, a fresh process per measurement) does the same: live heap + goroutine stacks after GC
 * (runtime.MemStats HeapAlloc + StackInuse), and the growth of what the runtime got from the OS (Sys);
 * without Go, a line says so and its column is left out. The load average is printed: the machine may be
 * shared. Writes bench/results/memory.json (partial-memory.json when a BENCH_MEMORY_* size is set).
 */
import { spawn } from "node:child_process";
import { setMaxListeners } from "node:events";
import { writeFile } from "node:fs/promises";
import { loadavg } from "node:os";
import type { MessageInitShape } from "@bufbuild/protobuf";
import { createClient } from "@connectrpc/connect";
import type { WatchRequestSchema } from "../src/gen/etcdserverpb/rpc_pb.js";
import { KV, Watch } from "../src/gen/etcdserverpb/rpc_pb.js";
import { createH2NetTransport, createHttp2Transport, Etcd, type Http2Transport } from "../src/index.js";
import { startEtcd } from "../src/testing/index.js";
import { buildGoBench, GoBenchClient } from "./clients/go.js";

const CONNECTIONS = Number(process.env.BENCH_MEMORY_CONNECTIONS ?? 200);
const WATCHES = (process.env.BENCH_MEMORY_WATCHES ?? "1000,10000").split(",").map(Number);
const STREAMS = (process.env.BENCH_MEMORY_STREAMS ?? "1000,10000").split(",").map(Number);
/** Sizes other than the defaults write bench/results/partial-memory.json (git ignores it), not the record. */
const custom = ["BENCH_MEMORY_CONNECTIONS", "BENCH_MEMORY_WATCHES", "BENCH_MEMORY_STREAMS"].some(
  (name) => process.env[name] !== undefined,
);
const TRANSPORTS = ["h2-net", "http2"] as const;
type TransportName = (typeof TRANSPORTS)[number];
type Phase = "connections" | "watches" | "streams";

/** One measurement: bytes per item. */
interface MemoryResult {
  phase: Phase;
  transport: TransportName;
  items: number;
  heapPerItem: number;
  externalPerItem: number;
  rssPerItem: number;
}

const te = new TextEncoder();
const gc = (globalThis as { gc?: () => void }).gc;
const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface Snapshot {
  heap: number;
  external: number;
  rss: number;
}

/** Memory after GC (twice, with a pause between for what frees asynchronously). */
async function settled(): Promise<Snapshot> {
  if (gc === undefined) throw new Error("run under node --expose-gc (npm run bench:memory does)");
  await pause(300);
  gc();
  await pause(300);
  gc();
  const m = process.memoryUsage();
  return { heap: m.heapUsed, external: m.external, rss: m.rss };
}

function bare(name: TransportName, endpoint: string): Http2Transport {
  const options = { baseUrl: endpoint };
  return name === "h2-net" ? createH2NetTransport(options) : createHttp2Transport(options);
}

/** An input stream that sends one message and then stays open until `end` is called. */
function oneThenIdle<T>(message: T): { input: AsyncIterable<T>; end: () => void } {
  let end!: () => void;
  const ended = new Promise<void>((r) => {
    end = r;
  });
  async function* input(): AsyncGenerator<T> {
    yield message;
    await ended;
  }
  return { input: input(), end };
}

type WatchInit = MessageInitShape<typeof WatchRequestSchema>;
const createWatch = (key: string): WatchInit => ({
  requestUnion: { case: "createRequest", value: { key: te.encode(key) } },
});

/** Runs `setUp` for `items` items between two settled snapshots; `warmUp` first loads the code paths. */
async function measure(
  phase: Phase,
  transport: TransportName,
  items: number,
  warmUp: () => Promise<() => Promise<void>>,
  setUp: () => Promise<() => Promise<void>>,
): Promise<MemoryResult> {
  await (await warmUp())();
  const before = await settled();
  const tearDown = await setUp();
  const after = await settled();
  await tearDown();
  return {
    phase,
    transport,
    items,
    heapPerItem: Math.round((after.heap - before.heap) / items),
    externalPerItem: Math.round((after.external - before.external) / items),
    rssPerItem: Math.round((after.rss - before.rss) / items),
  };
}

/** N bare transports, each with one live connection. */
async function connections(name: TransportName, endpoint: string, n: number): Promise<() => Promise<void>> {
  const transports = Array.from({ length: n }, () => bare(name, endpoint));
  // One at a time: the member sees one connection attempt at a time, as from n separate processes.
  for (const t of transports) await createClient(KV, t).range({ key: te.encode("bm/conn") });
  return async () => {
    await Promise.all(transports.map((t) => t.close()));
  };
}

/** One client with k idle watches on distinct keys (one Watch stream). */
async function watches(name: TransportName, endpoint: string, k: number): Promise<() => Promise<void>> {
  const etcd = new Etcd({ endpoints: [endpoint], transport: name });
  await etcd.get("bm/warm");
  const all = Array.from({ length: k }, (_, i) => etcd.watch({ key: `bm/w/${i}` }));
  await Promise.all(all.map((w) => w.created));
  return async () => {
    await Promise.all(all.map((w) => w.close()));
    await etcd.close();
  };
}

/** One bare transport with k idle Watch calls, each its own HTTP/2 stream with one confirmed watch. */
async function streams(name: TransportName, endpoint: string, k: number): Promise<() => Promise<void>> {
  const transport = bare(name, endpoint);
  await createClient(KV, transport).range({ key: te.encode("bm/warm") });
  const watch = createClient(Watch, transport);
  const abort = new AbortController();
  setMaxListeners(0, abort.signal);
  const calls = Array.from({ length: k }, (_, i) => {
    const { input, end } = oneThenIdle(createWatch(`bm/s/${i}`));
    const responses = watch.watch(input, { signal: abort.signal })[Symbol.asyncIterator]();
    return { end, created: responses.next() };
  });
  for (const call of calls) {
    const first = await call.created;
    if (first.done === true || !first.value.created)
      throw new Error("a watch stream did not confirm its watch");
  }
  return async () => {
    for (const call of calls) call.end();
    abort.abort();
    await transport.close();
  };
}

/** What each phase holds, and how many of it the warm-up holds and releases first (to load the code paths). */
const HOLDERS: Record<
  Phase,
  {
    hold: (name: TransportName, endpoint: string, n: number) => Promise<() => Promise<void>>;
    warmUp: number;
  }
> = {
  connections: { hold: connections, warmUp: 2 },
  watches: { hold: watches, warmUp: 10 },
  streams: { hold: streams, warmUp: 10 },
};

function child(phase: Phase, name: TransportName, items: number, endpoint: string): Promise<MemoryResult> {
  const { hold, warmUp } = HOLDERS[phase];
  return measure(
    phase,
    name,
    items,
    () => hold(name, endpoint, warmUp),
    () => hold(name, endpoint, items),
  );
}

/** Runs one measurement in a child process (this script, under --expose-gc) and returns its result. */
function runChild(phase: Phase, name: TransportName, items: number, endpoint: string): Promise<MemoryResult> {
  return new Promise((resolve, reject) => {
    const proc = spawn(
      process.execPath,
      ["--expose-gc", "--import", "tsx", new URL(import.meta.url).pathname],
      {
        env: { ...process.env, BENCH_MEMORY_CHILD: JSON.stringify({ phase, name, items, endpoint }) },
        stdio: ["ignore", "pipe", "inherit"],
      },
    );
    let out = "";
    proc.stdout.on("data", (chunk: Buffer) => {
      out += chunk.toString("utf8");
    });
    proc.on("error", reject);
    proc.on("close", (code) => {
      const line = out.trim().split("\n").at(-1) ?? "";
      if (code !== 0 || !line.startsWith("{"))
        reject(new Error(`${phase}/${name}/${items} exited ${code}: ${out}`));
      else resolve(JSON.parse(line) as MemoryResult);
    });
  });
}

/** Go's figures for one measurement, in a Go process of its own. */
interface GoMemoryResult {
  phase: Phase;
  items: number;
  livePerItem: number;
  sysPerItem: number;
}

async function goMeasure(
  binary: string,
  endpoint: string,
  phase: Phase,
  items: number,
): Promise<GoMemoryResult> {
  const go = await GoBenchClient.start(binary, endpoint);
  try {
    const r = await go.memory(phase, items);
    return { phase, items, livePerItem: Math.round(r.livePerItem), sysPerItem: Math.round(r.sysPerItem) };
  } finally {
    await go.close();
  }
}

const kib = (bytes: number) => (bytes / 1024).toFixed(1);

async function main(): Promise<void> {
  const external = process.env.ETCD_ENDPOINTS?.split(",")[0];
  const cluster = external ? undefined : await startEtcd();
  const endpoint = external ?? cluster!.endpoint;
  const loadBefore = loadavg();
  const results: MemoryResult[] = [];
  const goResults: GoMemoryResult[] = [];
  const goBuild = await buildGoBench();
  if ("missing" in goBuild) console.log(`no Go client: ${goBuild.missing}`);
  const plan: Array<[Phase, number]> = [
    ["connections", CONNECTIONS],
    ...WATCHES.map((k): [Phase, number] => ["watches", k]),
    ...STREAMS.map((k): [Phase, number] => ["streams", k]),
  ];
  try {
    for (const [phase, items] of plan) {
      for (const name of TRANSPORTS) results.push(await runChild(phase, name, items, endpoint));
      if ("binary" in goBuild) goResults.push(await goMeasure(goBuild.binary, endpoint, phase, items));
    }
  } finally {
    await cluster?.close();
  }
  const loadAfter = loadavg();
  const rows = plan.map(([phase, items]) => {
    const of = (name: TransportName) =>
      results.find((r) => r.phase === phase && r.items === items && r.transport === name)!;
    const [h2net, http2] = [of("h2-net"), of("http2")];
    const total = (r: MemoryResult) => r.heapPerItem + r.externalPerItem;
    const go = goResults.find((r) => r.phase === phase && r.items === items);
    const goCells = go === undefined ? "" : ` ${kib(go.livePerItem)}, ${kib(go.sysPerItem)} |`;
    return `| ${phase} | ${items.toLocaleString("en")} | ${kib(h2net.heapPerItem)} + ${kib(h2net.externalPerItem)}, ${kib(h2net.rssPerItem)} | ${kib(http2.heapPerItem)} + ${kib(http2.externalPerItem)}, ${kib(http2.rssPerItem)} | ${(total(h2net) / total(http2)).toFixed(2)}x / ${(h2net.rssPerItem / http2.rssPerItem).toFixed(2)}x |${goCells}`;
  });
  console.log(
    `load average before ${loadBefore.map((l) => l.toFixed(2)).join(" ")}, after ${loadAfter.map((l) => l.toFixed(2)).join(" ")}`,
  );
  const withGo = goResults.length > 0;
  console.log(`KiB per item: heap + external, RSS growth${withGo ? "; go: heap + stacks, Sys growth" : ""}`);
  console.log(
    `| measure | items | h2-net | http2 | h2-net / http2: heap+external / RSS |${withGo ? " go |" : ""}`,
  );
  console.log(`| --- | --- | --- | --- | --- |${withGo ? " --- |" : ""}`);
  for (const row of rows) console.log(row);
  await writeFile(
    new URL(custom ? "results/partial-memory.json" : "results/memory.json", import.meta.url),
    `${JSON.stringify({ date: new Date().toISOString(), loadBefore, loadAfter, results, go: goResults }, null, 2)}\n`,
  );
}

const childSpec = process.env.BENCH_MEMORY_CHILD;
if (childSpec !== undefined) {
  const { phase, name, items, endpoint } = JSON.parse(childSpec) as {
    phase: Phase;
    name: TransportName;
    items: number;
    endpoint: string;
  };
  console.log(JSON.stringify(await child(phase, name, items, endpoint)));
  process.exit(0);
} else {
  await main();
}
