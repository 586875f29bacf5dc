/**
 * `npm run bench:charts`: draws the charts again from the recorded results (bench/results/latest.json and
 * watch.json), without measuring anything: for when the chart code changes. A bench run draws its own.
 */
import { readFile } from "node:fs/promises";
import type { KvResults, WatchResults } from "./chart-specs.js";
import { writeKvChart, writeWatchChart } from "./charts.js";

async function load<T>(name: string): Promise<T> {
  return JSON.parse(await readFile(new URL(`./results/${name}.json`, import.meta.url), "utf8")) as T;
}

console.log(`wrote ${await writeKvChart("latest", await load<KvResults>("latest"))}`);
const watch = await writeWatchChart("watch", await load<WatchResults>("watch"));
if (watch) console.log(`wrote ${watch}`);
