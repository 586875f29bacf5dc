/**
 * Renders the benchmark charts to SVG with Vega (no browser, no canvas: `renderer: "none"` and
 * `view.toSVG()`), beside the JSON of the same run.
 */
import { writeFile } from "node:fs/promises";
import { type LoggerInterface, logger, parse, View, Warn } from "vega";
import { compile, type TopLevelSpec } from "vega-lite";
import {
  type KvResults,
  kvChartSpec,
  type ScaleResults,
  scaleChartSpec,
  type WatchResults,
  watchLatencyChartSpec,
} from "./chart-specs.js";

/**
 * Vega-Lite's log at level Warn, minus the warning it gives for every faceted chart whose layers have
 * independent scales ("... the result view size may be incorrect"): ours share one data source, and the
 * rendered sizes are right.
 */
function chartLogger(): LoggerInterface {
  const base = logger(Warn);
  const log: LoggerInterface = {
    level(level?: number) {
      if (level === undefined) return base.level();
      base.level(level);
      return log;
    },
    error(...args) {
      base.error(...args);
      return log;
    },
    warn(...args) {
      if (!String(args[0]).includes("faceted independent scales")) base.warn(...args);
      return log;
    },
    info(...args) {
      base.info(...args);
      return log;
    },
    debug(...args) {
      base.debug(...args);
      return log;
    },
  };
  return log;
}

/** The SVG of a Vega-Lite spec. */
export async function renderSvg(spec: TopLevelSpec): Promise<string> {
  const view = new View(parse(compile(spec, { logger: chartLogger() }).spec), { renderer: "none" });
  try {
    return `${await view.toSVG()}\n`;
  } finally {
    view.finalize();
  }
}

/** Writes bench/results/<stem>.svg for a `npm run bench` result; returns the path written. */
export async function writeKvChart(stem: string, results: KvResults): Promise<string> {
  const path = `bench/results/${stem}.svg`;
  await writeFile(new URL(`./results/${stem}.svg`, import.meta.url), await renderSvg(kvChartSpec(results)));
  return path;
}

/** Writes bench/results/<stem>.svg for a `npm run bench:watch` result with storms; returns the path. */
export async function writeWatchChart(stem: string, results: WatchResults): Promise<string | undefined> {
  if (!results.watch1 && !results.watch1000) return undefined;
  const path = `bench/results/${stem}.svg`;
  await writeFile(
    new URL(`./results/${stem}.svg`, import.meta.url),
    await renderSvg(watchLatencyChartSpec(results)),
  );
  return path;
}

/** Writes bench/results/<stem>.svg for a `npm run bench:scale` result; returns the path written. */
export async function writeScaleChart(stem: string, results: ScaleResults): Promise<string> {
  await writeFile(
    new URL(`./results/${stem}.svg`, import.meta.url),
    await renderSvg(scaleChartSpec(results)),
  );
  return `bench/results/${stem}.svg`;
}
