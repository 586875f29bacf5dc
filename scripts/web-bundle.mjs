// etcd-ts/web in a browser bundle: esbuild with `platform: "browser"`, no externals, minified.
//
// `node scripts/web-bundle.mjs check` (`npm run check:web`, run by CI):
// - bundles the whole entry, src/web/index.ts, and fails if anything it reaches imports a Node built-in
//   (`node:events`, `events`, ...), naming the chain of imports from the entry to it;
// - bundles test/web/size/app.ts (get, put, watch, a lease) and prints its size, minified and gzipped
//   (`gzip -9`), with the inputs that weigh most.
// `node scripts/web-bundle.mjs build` (part of `npm run build`): the same check, then writes the entry's
// self-contained bundle to dist/web/browser.js (`etcd-ts/web/browser`, for a page without a bundler).
import { builtinModules } from "node:module";
import { dirname, join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { gzipSync } from "node:zlib";
import * as esbuild from "esbuild";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const ENTRY = join(root, "src/web/index.ts");
const APP = join(root, "test/web/size/app.ts");
/** Node's built-ins by every name an import may use: `node:events`, `events`, `fs/promises`, ... */
const BUILTINS = new Set(builtinModules.flatMap((name) => [name, `node:${name}`]));
const isBuiltin = (path) => path.startsWith("node:") || BUILTINS.has(path);

/**
 * The options of every bundle here: what a user's browser build does, `npx esbuild app.ts --bundle
 * --platform=browser --format=esm --minify` (docs/bundling.md; test/web/bundle.test.ts runs that command
 * and gets the same bytes).
 */
const BROWSER = {
  bundle: true,
  platform: "browser",
  format: "esm",
  minify: true,
  metafile: true,
  logLevel: "silent",
};

/**
 * Bundles `entry` for the browser. With a Node built-in on its path esbuild fails ("Could not resolve");
 * the failure is then explained by a second pass that leaves the built-ins out and reads which file
 * imported each one, and how the entry reaches that file.
 */
export async function bundleForBrowser(entry, options = {}) {
  try {
    return await esbuild.build({ ...BROWSER, entryPoints: [entry], write: false, ...options });
  } catch (failure) {
    const probe = await esbuild
      .build({
        ...BROWSER,
        entryPoints: [entry],
        write: false,
        plugins: [
          {
            name: "node-builtins-out",
            setup(build) {
              build.onResolve({ filter: /.*/ }, (args) =>
                isBuiltin(args.path) ? { path: args.path, external: true } : undefined,
              );
            },
          },
        ],
      })
      .catch(() => undefined);
    const chains = probe ? builtinImports(probe.metafile) : [];
    if (chains.length === 0) throw failure;
    throw new Error(
      `${relative(root, entry)} reaches Node built-ins, which a browser does not have:\n` +
        chains.map((chain) => `  ${chain.join(" -> ")}`).join("\n"),
    );
  }
}

/** Every import of a Node built-in in `metafile`, as the chain of files from the entry to it. */
export function builtinImports(metafile) {
  const parents = new Map();
  const entry = Object.keys(metafile.inputs).find(
    (file) => !Object.values(metafile.inputs).some((i) => i.imports.some((imp) => imp.path === file)),
  );
  const queue = [entry];
  parents.set(entry, undefined);
  while (queue.length > 0) {
    const file = queue.shift();
    for (const imp of metafile.inputs[file]?.imports ?? []) {
      if (!parents.has(imp.path)) {
        parents.set(imp.path, file);
        queue.push(imp.path);
      }
    }
  }
  const chains = [];
  for (const [file, input] of Object.entries(metafile.inputs))
    for (const imp of input.imports)
      if (isBuiltin(imp.path)) {
        const chain = [imp.path];
        for (let at = file; at !== undefined; at = parents.get(at)) chain.unshift(at);
        chains.push(chain);
      }
  return chains;
}

/** The size of the get/put/watch/lease program's bundle, and the inputs that weigh most in it. */
export async function measureApp() {
  const result = await bundleForBrowser(APP);
  const code = result.outputFiles[0].contents;
  const output = Object.values(result.metafile.outputs)[0];
  const heaviest = Object.entries(output.inputs)
    .map(([file, input]) => ({ file: file.replace(/^.*node_modules\//, ""), bytes: input.bytesInOutput }))
    .sort((a, b) => b.bytes - a.bytes)
    .slice(0, 8);
  return { minified: code.length, gzipped: gzipSync(code, { level: 9 }).length, heaviest };
}

const kB = (bytes) => `${(bytes / 1000).toFixed(1)} kB`;

async function main(command) {
  if (command !== "check" && command !== "build") {
    console.error("usage: node scripts/web-bundle.mjs check|build");
    process.exit(2);
  }
  const entry = await bundleForBrowser(ENTRY);
  const whole = entry.outputFiles[0].contents;
  console.log(
    `web-bundle: src/web/index.ts bundles for the browser with no Node built-in: ` +
      `${Object.keys(entry.metafile.inputs).length} modules, ${kB(whole.length)} minified, ` +
      `${kB(gzipSync(whole, { level: 9 }).length)} gzipped (every export)`,
  );
  const app = await measureApp();
  console.log(
    `web-bundle: get/put/watch/lease (test/web/size/app.ts): ${kB(app.minified)} minified, ` +
      `${kB(app.gzipped)} gzipped`,
  );
  console.log(
    `web-bundle: heaviest inputs: ${app.heaviest.map((h) => `${h.file} ${kB(h.bytes)}`).join(", ")}`,
  );
  if (command === "build") {
    const outfile = join(root, "dist/web/browser.js");
    await bundleForBrowser(ENTRY, { write: true, outfile, sourcemap: true, legalComments: "linked" });
    console.log(`web-bundle: wrote ${relative(root, outfile)}`);
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  main(process.argv[2]).catch((error) => {
    console.error(`web-bundle: ${error instanceof Error ? error.message : error}`);
    process.exit(1);
  });
}
