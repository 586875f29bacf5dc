import { execFileSync } from "node:child_process";
import { existsSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";

/** A JavaScript runtime the suite runs programs under. */
export interface Runtime {
  readonly name: "node" | "bun" | "deno";
  /** The executable, or undefined when it is not installed. */
  readonly executable: string | undefined;
  /** Why it is missing (undefined when found). */
  readonly missing: string | undefined;
  /** The version it reports, e.g. `1.4.5` (empty when missing). */
  readonly version: string;
  /** The command line that runs a TypeScript source file (the repo's `.js` import specifiers included). */
  tsCommand(script: string, args: string[]): [string, string[]];
  /** The command line that runs a plain ES module (a bundle). */
  jsCommand(script: string, args: string[]): [string, string[]];
}

const require = createRequire(import.meta.url);

/**
 * The runtime's binary from this repo's node_modules: the devDependencies `bun` and `deno` pull the one
 * for this platform in as an optional dependency (`@oven/bun-<os>-<cpu>`, `@deno/<os>-<cpu>[-glibc]`).
 * Their postinstall scripts, when npm runs them, move Bun's binary to `bun/bin/bun.exe` (leaving a stub
 * there otherwise) and copy Deno's to `deno/deno`; so each candidate is asked for its version and the
 * first that answers wins. `BUN_BIN` / `DENO_BIN` override.
 */
function packagedBinary(envVar: string, candidates: [pkg: string, file: string][], versionArgs: string[]) {
  const fromEnv = process.env[envVar];
  const paths: string[] = [];
  if (fromEnv) paths.push(fromEnv);
  else
    for (const [pkg, file] of candidates) {
      try {
        paths.push(join(dirname(require.resolve(`${pkg}/package.json`)), file));
      } catch {
        // Not installed (another platform's package, or no npm ci yet).
      }
    }
  const tried: string[] = [];
  for (const path of paths) {
    if (!existsSync(path)) {
      tried.push(`${path} (missing)`);
      continue;
    }
    try {
      const out = execFileSync(path, versionArgs, {
        encoding: "utf8",
        env: { ...process.env, NO_COLOR: "1" },
      });
      return { path, output: out, missing: undefined };
    } catch (err) {
      tried.push(`${path} (${err instanceof Error ? err.message.split("\n")[0] : String(err)})`);
    }
  }
  const where =
    tried.length > 0 ? tried.join("; ") : `none of ${candidates.map(([pkg]) => pkg).join(", ")} is installed`;
  return { path: undefined, output: "", missing: `no working binary (run npm ci): ${where}` };
}

const exe = process.platform === "win32" ? ".exe" : "";

function bunBinary() {
  const os = process.platform === "win32" ? "windows" : process.platform;
  const cpu = process.arch === "arm64" ? "aarch64" : process.arch;
  return packagedBinary(
    "BUN_BIN",
    [
      [`@oven/bun-${os}-${cpu}`, `bin/bun${exe}`],
      ["bun", "bin/bun.exe"],
    ],
    ["--version"],
  );
}

function denoBinary() {
  const libc = process.platform === "linux" ? "-glibc" : "";
  return packagedBinary(
    "DENO_BIN",
    [
      [`@deno/${process.platform}-${process.arch}${libc}`, `deno${exe}`],
      ["deno", `deno${exe}`],
    ],
    ["--version"],
  );
}

function node(): Runtime {
  return {
    name: "node",
    executable: process.execPath,
    missing: undefined,
    version: process.versions.node,
    tsCommand: (script, args) => [process.execPath, ["--import", "tsx", script, ...args]],
    jsCommand: (script, args) => [process.execPath, [script, ...args]],
  };
}

function bun(): Runtime {
  const { path, output, missing } = bunBinary();
  return {
    name: "bun",
    executable: path,
    missing,
    version: /^(\S+)/.exec(output)?.[1] ?? "",
    // Bun runs TypeScript as it is and maps `./x.js` to `./x.ts`.
    tsCommand: (script, args) => [path!, [script, ...args]],
    jsCommand: (script, args) => [path!, [script, ...args]],
  };
}

function deno(): Runtime {
  const { path, output, missing } = denoBinary();
  // -A: the program opens sockets, reads env and spawns nothing else; Deno's permission prompts would
  // otherwise wait on a closed stdin. npm packages come from the repo's node_modules (Deno uses it when a
  // package.json is present); --sloppy-imports maps the sources' `./x.js` specifiers to `./x.ts`.
  const run = ["run", "-A", "--quiet"];
  return {
    name: "deno",
    executable: path,
    missing,
    version: /^deno (\S+)/.exec(output)?.[1] ?? "",
    tsCommand: (script, args) => [path!, [...run, "--sloppy-imports", script, ...args]],
    jsCommand: (script, args) => [path!, [...run, script, ...args]],
  };
}

/** Node (this process's), Bun and Deno, each found or with the reason it is missing. */
export function findRuntimes(): Runtime[] {
  return [node(), bun(), deno()];
}

/** Environment for runtime children: no colors, no update checks. */
export const RUNTIME_ENV: NodeJS.ProcessEnv = { NO_COLOR: "1", DENO_NO_UPDATE_CHECK: "1" };

/**
 * In CI a missing runtime is a failure, not a skip: the suite exists to prove Bun and Deno work.
 * Locally, without them, the tests skip and say why.
 */
export const REQUIRE_RUNTIMES = process.env.CI === "true" || process.env.CI === "1";
