import { build } from "esbuild";

/** Where a web bundle runs: a browser page, or a Worker under workerd. */
export type WebTarget = "browser" | "workerd";

/**
 * Bundles `entry` (a page's or a Worker's program that imports etcd-ts/web from `src/`) into one ES
 * module, every dependency inside, as a user's bundler does for a browser or a Worker (wrangler's
 * conditions for workerd). esbuild's browser platform has no `node:` built-ins: a `node:` import anywhere
 * on the path fails the build, naming it, so a bundle that builds is proof the path is node-free.
 */
export async function webBundle(entry: string, target: WebTarget): Promise<string> {
  const result = await build({
    entryPoints: [entry],
    bundle: true,
    platform: "browser",
    conditions: target === "workerd" ? ["workerd", "worker", "browser"] : ["browser"],
    format: "esm",
    target: "es2022",
    // Inline source maps: a failure inside the page or the Worker names the source line.
    sourcemap: "inline",
    write: false,
    logLevel: "silent",
  });
  return result.outputFiles[0]!.text;
}
