import { bundleForBrowser } from "../../../scripts/web-bundle.mjs";

/** Where a web bundle runs: a browser page, or a Worker under workerd. */
export type WebTarget = "browser" | "workerd";

/**
 * Bundles `entry` (a page's or a Worker's program that imports etcd-ts/web from `src/`) into one ES
 * module, every dependency inside, with the project's browser build (`scripts/web-bundle.mjs`: a Node
 * built-in anywhere on the path fails it, naming the chain). For workerd, wrangler's conditions. Not
 * minified, with inline source maps: a failure inside the page or the Worker names the source line.
 */
export async function webBundle(entry: string, target: WebTarget): Promise<string> {
  const result = await bundleForBrowser(entry, {
    minify: false,
    sourcemap: "inline",
    conditions: target === "workerd" ? ["workerd", "worker", "browser"] : ["browser"],
  });
  return result.outputFiles[0]!.text;
}
