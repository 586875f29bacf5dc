/**
 * `npm run bench:web-watches`: the memory of 1,000 watches over etcd's JSON gateway (a request each), with
 * etcd-ts/web's `Etcd`, in Node and in headless Chromium (Debian's, through playwright-core), and how many
 * watches a page can hold at once.
 * - Node: one client, plain `http:` (Node's `fetch` opens a connection per request it needs); heap and RSS
 *   growth after GC (`node --expose-gc`, as the npm script runs it).
 * - Chromium over `https:`: the page gets HTTP/2, whose streams share one connection, but Chromium caps a
 *   connection at 256 streams, so the watches go to 4 origins (4 TCP proxies in front of one member, each
 *   its own connection), 250 each; the page's JS heap after GC and the RSS of all Chromium processes.
 * - Chromium over plain `http:`: HTTP/1.1, six connections per origin: how many of the watches etcd
 *   created after 10 s (the rest wait in the browser's queue, and so would every other call).
 * Every watch must deliver one event (a put of its key) before the memory is read. Writes
 * bench/results/web-watches.json. BENCH_WATCHES sets the count (default 1,000).
 */
import { readdirSync, readFileSync } from "node:fs";
import { writeFile } from "node:fs/promises";
import { fileURLToPath } from "node:url";
import { Etcd } from "../src/index.js";
import { type EtcdCluster, FaultProxy, startEtcd } from "../src/testing/index.js";
import { until } from "../test/support/wait.js";
import { findChromium, launchChromium } from "../test/web/support/chromium.js";
import { WebPage } from "../test/web/support/page.js";
import { startPageServer } from "../test/web/support/page-server.js";
import { webBundle } from "../test/web/support/web-bundle.js";
import { watchesBench } from "./web-watches-lib.js";

const N = Number(process.env.BENCH_WATCHES ?? 1000);
/** Chromium's cap on the streams of one HTTP/2 connection. */
const CHROMIUM_STREAMS_PER_CONNECTION = 256;
const PAGE = fileURLToPath(new URL("./web-watches-page.ts", import.meta.url));
const PREFIX = "bench/w/";
const gc = (globalThis as { gc?: () => void }).gc;
if (!gc) throw new Error("run under node --expose-gc (npm run bench:web-watches does)");

const mib = (bytes: number) => `${(bytes / 2 ** 20).toFixed(1)} MiB`;

/** Puts every watched key once (64 in flight) with a gRPC client of the test's own. */
async function putAll(admin: Etcd): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: 64 }, async () => {
      while (next < N) await admin.put(`${PREFIX}${next++}`, "v");
    }),
  );
}

/** Total RSS of `pids`, bytes (Linux /proc). */
function rssOf(pids: number[]): number {
  let total = 0;
  for (const pid of pids) {
    try {
      const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
      if (m) total += Number(m[1]) * 1024;
    } catch {
      // Gone.
    }
  }
  return total;
}

/** The processes of Chromium browsers that playwright launched (its profile dir is in their command line). */
function chromiumPids(): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const cmd = readFileSync(`/proc/${entry}/cmdline`, "utf8");
      if (cmd.includes("chromium") && cmd.includes("playwright")) pids.push(Number(entry));
    } catch {
      // Gone.
    }
  }
  return pids;
}

async function nodeLeg(plain: EtcdCluster) {
  const admin = new Etcd({ endpoints: plain.endpoint });
  gc!();
  const heapBefore = process.memoryUsage().heapUsed;
  const rssBefore = process.memoryUsage().rss;
  const bench = watchesBench();
  bench.open({ endpoints: [plain.endpoint], n: N, prefix: PREFIX });
  await until(`${N} watches created in Node`, () => bench.counts().created === N, 120_000, 50);
  await putAll(admin);
  await until(`an event on each of the ${N} watches in Node`, () => bench.counts().events >= N, 120_000, 50);
  gc!();
  gc!();
  const heap = process.memoryUsage().heapUsed - heapBefore;
  const rss = process.memoryUsage().rss - rssBefore;
  await bench.close();
  await admin.delete({ prefix: PREFIX });
  await admin.close();
  return { watches: N, heapBytes: heap, heapPerWatch: Math.round(heap / N), rssBytes: rss };
}

async function main(): Promise<void> {
  const chromium = findChromium();
  const server = await startPageServer(await webBundle(PAGE, "browser"));
  const cors = `--cors=${server.origin}`;
  const [plain, secure] = await Promise.all([
    startEtcd({ args: [cors] }),
    startEtcd({ tls: true, args: [cors] }),
  ]);
  const proxies: FaultProxy[] = [];
  try {
    const node = await nodeLeg(plain);
    console.log(
      `Node ${process.versions.node}, ${N} watches over http (HTTP/1.1): heap +${mib(node.heapBytes)} (${node.heapPerWatch} bytes a watch), RSS +${mib(node.rssBytes)}`,
    );

    const before = new Set(chromiumPids());
    const browser = await launchChromium(chromium, [
      "--js-flags=--expose-gc",
      "--enable-precise-memory-info",
    ]);
    const pids = () => chromiumPids().filter((pid) => !before.has(pid));
    try {
      // 4 origins of 250 streams each, under Chromium's 256 a connection.
      const origins = Math.ceil(N / (CHROMIUM_STREAMS_PER_CONNECTION - 6));
      for (let i = 0; i < origins; i++) proxies.push(await FaultProxy.start(secure.endpoint));
      const endpoints = proxies.map((p) => p.url.replace("http:", "https:"));
      const page = await WebPage.open(browser, server.origin, { ignoreHTTPSErrors: true });
      const heap = () => page.evaluate<number>("(gc(), gc(), performance.memory.usedJSHeapSize)");
      const counts = () => page.evaluate<{ created: number; events: number }>("globalThis.etcdPage.counts()");
      const heapBefore = await heap();
      const rssBefore = rssOf(pids());
      await page.evaluate(`globalThis.etcdPage.open(${JSON.stringify({ endpoints, n: N, prefix: PREFIX })})`);
      await until(
        `${N} watches created in Chromium`,
        async () => (await counts()).created === N,
        120_000,
        200,
      );
      const admin = new Etcd({ endpoints: secure.endpoint, tls: { ca: readFileSync(secure.tls!.caFile) } });
      await putAll(admin);
      await until(
        `an event on each of the ${N} watches in Chromium`,
        async () => (await counts()).events >= N,
        120_000,
        200,
      );
      const chromiumHeap = (await heap()) - heapBefore;
      const chromiumRss = rssOf(pids()) - rssBefore;
      console.log(
        `Chromium ${chromium.version}, ${N} watches over https (HTTP/2, ${origins} origins): JS heap +${mib(chromiumHeap)} (${Math.round(chromiumHeap / N)} bytes a watch), RSS of its processes +${mib(chromiumRss)}`,
      );
      await page.evaluate("globalThis.etcdPage.close()");
      await page.close();
      await admin.delete({ prefix: PREFIX });
      await admin.close();

      // Plain http: HTTP/1.1, a connection per open request, six per origin.
      const http = await WebPage.open(browser, server.origin);
      await http.evaluate(
        `globalThis.etcdPage.open(${JSON.stringify({ endpoints: [plain.endpoint], n: N, prefix: PREFIX })})`,
      );
      await new Promise((resolve) => setTimeout(resolve, 10_000));
      const plainCounts = await http.evaluate<{ created: number }>("globalThis.etcdPage.counts()");
      console.log(
        `Chromium over http (HTTP/1.1), one origin: ${plainCounts.created} of ${N} watches created after 10 s (the rest, and any other call to that origin, wait in the browser's queue)`,
      );
      await http.evaluate("globalThis.etcdPage.close()");
      await http.close();

      const results = {
        date: new Date().toISOString(),
        watches: N,
        node: { version: process.versions.node, ...node },
        chromium: {
          version: chromium.version,
          origins,
          jsHeapBytes: chromiumHeap,
          jsHeapPerWatch: Math.round(chromiumHeap / N),
          rssBytes: chromiumRss,
          plainHttpCreatedAfter10s: plainCounts.created,
        },
      };
      await writeFile(
        new URL("./results/web-watches.json", import.meta.url),
        `${JSON.stringify(results, null, 2)}\n`,
      );
    } finally {
      await browser.close();
    }
  } finally {
    for (const proxy of proxies) await proxy.close();
    await Promise.all([plain.close(), secure.close(), server.close()]);
  }
}

await main();
