// Types of scripts/web-bundle.mjs, for the tests that call it (test/web/bundle.test.ts).
import type { BuildOptions, BuildResult, Metafile } from "esbuild";

/** Bundles `entry` for the browser; rejects naming the import chains that reach a Node built-in. */
export function bundleForBrowser(
  entry: string,
  options?: BuildOptions,
): Promise<BuildResult<{ metafile: true; write: false }>>;
/** Every import of a Node built-in in `metafile`, as the chain of files from the entry to it. */
export function builtinImports(metafile: Metafile): string[][];
/** The size of test/web/size/app.ts's bundle (get/put/watch/lease), and the inputs that weigh most. */
export function measureApp(): Promise<{
  minified: number;
  gzipped: number;
  heaviest: { file: string; bytes: number }[];
}>;
