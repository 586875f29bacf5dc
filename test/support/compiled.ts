import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, renameSync, statSync, writeFileSync } from "node:fs";
import { basename, join, resolve } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { buildSync } from "esbuild";

/** Where bundles go: inside node_modules, so that the packages they import resolve as from the repo. */
const OUT_DIR = fileURLToPath(new URL("../../node_modules/.cache/etcd-ts-tests/", import.meta.url));

const built = new Map<string, string>();

/**
 * A TypeScript entry (the CLI, a fixture) bundled into one ES module, once per test process, and the
 * path of that `.mjs`: a child runs it with plain `node`, the way a user runs the built package, instead
 * of paying tsx's loader and transforms on every start (0.8 s against 0.25 s per CLI run, measured with
 * `/usr/bin/time node --import tsx src/cli/main.ts --help`).
 *
 * Only the repository's own files are bundled (from the current source, on every test run); packages
 * stay imports. `import.meta.url` is the entry's own URL in every bundled module, so the CLI (whose
 * `cli.ts`, beside its entry, reads `../../package.json`) finds its files; no other bundled module uses
 * `import.meta`. The file is named by its content's hash and written
 * through a rename: workers and worktrees sharing node_modules never read each other's half-written or
 * different bundle.
 *
 * A bundle outlives its test process: beside it, a manifest (named by the entry's absolute path) lists
 * every source file esbuild read with its size and modification time, and the next process (the slow
 * projects run one per file) takes the bundle as it is when none of them changed, instead of building it
 * again (1.7 s for the CLI on a busy 2-core machine, once per CLI file and etcd line).
 */
export function compiled(entry: string): string {
  const known = built.get(entry) ?? unchanged(entry);
  if (known) {
    built.set(entry, known);
    return known;
  }
  const result = buildSync({
    entryPoints: [entry],
    bundle: true,
    packages: "external",
    platform: "node",
    format: "esm",
    target: "node20",
    sourcemap: "inline",
    write: false,
    logLevel: "silent",
    metafile: true,
    define: { "import.meta.url": JSON.stringify(pathToFileURL(entry).href) },
  });
  const code = result.outputFiles[0]!.contents;
  const hash = createHash("sha256").update(code).digest("hex").slice(0, 16);
  const out = join(OUT_DIR, `${basename(entry, ".ts")}-${hash}.mjs`);
  mkdirSync(OUT_DIR, { recursive: true });
  const part = `${out}.${process.pid}.part`;
  writeFileSync(part, code);
  renameSync(part, out);
  const inputs: Record<string, [number, number]> = {};
  for (const input of Object.keys(result.metafile.inputs))
    inputs[resolve(input)] = fingerprint(resolve(input));
  writeFileSync(part, JSON.stringify({ out, inputs } satisfies Manifest));
  renameSync(part, manifestPath(entry));
  built.set(entry, out);
  return out;
}

/** What a bundle was built from: each input's absolute path with its fingerprint. */
interface Manifest {
  out: string;
  inputs: Record<string, [number, number]>;
}

/** Where the manifest of `entry`'s newest bundle is: named by the entry's absolute path. */
function manifestPath(entry: string): string {
  const id = createHash("sha256").update(resolve(entry)).digest("hex").slice(0, 16);
  return join(OUT_DIR, `${basename(entry, ".ts")}-${id}.inputs.json`);
}

/** A file's size and modification time (ns precision, as a number of ms), or [-1, -1] when it is gone. */
function fingerprint(path: string): [number, number] {
  try {
    const st = statSync(path, { bigint: true });
    return [Number(st.size), Number(st.mtimeNs) / 1e6];
  } catch {
    return [-1, -1];
  }
}

/** The bundle a previous process built of `entry`, when none of its inputs changed since. */
function unchanged(entry: string): string | undefined {
  let manifest: Manifest;
  try {
    manifest = JSON.parse(readFileSync(manifestPath(entry), "utf8")) as Manifest;
  } catch {
    return undefined;
  }
  if (!existsSync(manifest.out)) return undefined;
  for (const [input, [size, mtime]] of Object.entries(manifest.inputs)) {
    const [nowSize, nowMtime] = fingerprint(input);
    if (nowSize !== size || nowMtime !== mtime) return undefined;
  }
  return manifest.out;
}
