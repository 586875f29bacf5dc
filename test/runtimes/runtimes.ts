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
 * The binary an npm package of the runtime ships, resolved from this repo's node_modules (devDependencies
 * `bun` and `deno` pull the one for this platform in as an optional dependency; their postinstall scripts
 * are not needed, and npm 11 skips them unless allowed). `BUN_BIN` / `DENO_BIN` override.
 */
function packagedBinary(
  envVar: string,
  pkg: string,
  file: string,
): { path: string | undefined; missing: string | undefined } {
  const fromEnv = process.env[envVar];
  if (fromEnv) return existsSync(fromEnv) ? { path: fromEnv, missing: undefined } : missingAt(fromEnv);
  let dir: string;
  try {
    dir = dirname(require.resolve(`${pkg}/package.json`));
  } catch {
    return { path: undefined, missing: `${pkg} is not installed (npm ci installs it on this platform)` };
  }
  const path = join(dir, file);
  return existsSync(path) ? { path, missing: undefined } : missingAt(path);
}

function missingAt(path: string) {
  return { path: undefined, missing: `no executable at ${path}` };
}

function versionOf(executable: string | undefined, args: string[], pattern: RegExp): string {
  if (!executable) return "";
  const out = execFileSync(executable, args, { encoding: "utf8", env: { ...process.env, NO_COLOR: "1" } });
  return pattern.exec(out)?.[1] ?? out.trim();
}

const exe = process.platform === "win32" ? ".exe" : "";

function bunBinary() {
  const os = process.platform === "win32" ? "windows" : process.platform;
  const cpu = process.arch === "arm64" ? "aarch64" : process.arch;
  return packagedBinary("BUN_BIN", `@oven/bun-${os}-${cpu}`, `bin/bun${exe}`);
}

function denoBinary() {
  const libc = process.platform === "linux" ? "-glibc" : "";
  return packagedBinary("DENO_BIN", `@deno/${process.platform}-${process.arch}${libc}`, `deno${exe}`);
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
  const { path, missing } = bunBinary();
  return {
    name: "bun",
    executable: path,
    missing,
    version: versionOf(path, ["--version"], /^(\S+)/),
    // Bun runs TypeScript as it is and maps `./x.js` to `./x.ts`.
    tsCommand: (script, args) => [path!, [script, ...args]],
    jsCommand: (script, args) => [path!, [script, ...args]],
  };
}

function deno(): Runtime {
  const { path, missing } = denoBinary();
  // -A: the program opens sockets, reads env and spawns nothing else; Deno's permission prompts would
  // otherwise wait on a closed stdin. npm packages come from the repo's node_modules (Deno uses it when a
  // package.json is present); --sloppy-imports maps the sources' `./x.js` specifiers to `./x.ts`.
  const run = ["run", "-A", "--quiet"];
  return {
    name: "deno",
    executable: path,
    missing,
    version: versionOf(path, ["--version"], /^deno (\S+)/),
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
