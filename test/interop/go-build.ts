// Builds the project's Go programs on etcd's Go client (test/interop/go, the interop service; bench/go, the
// benchmark's Go client) once per source version and machine: each binary is cached under the etcd-ts
// cache folder, keyed by a hash of go.mod, go.sum and the Go files, so only the first run after a change
// pays for `go build`.
import { execFile } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdir, readdir, readFile, rename, rm, stat, writeFile } from "node:fs/promises";
import { delimiter, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { etcdCacheDir } from "../../src/testing/index.js";
import { isExecutable } from "../../src/testing/versions.js";

const run = promisify(execFile);

/** A Go program of the repository: a folder that is its own module, built to one binary. */
export interface GoProgramSource {
  /**
   * The module's folder (go.mod, go.sum, the .go files; no sub-packages). Shared packages come from
   * other folders through `replace` directives in its go.mod; they count in the cache key too.
   */
  readonly dir: string;
  /** The binary's name; the cache folder is `<etcd-ts cache>/<name>-go/<hash>/<name>`. */
  readonly name: string;
  /** Who needs it, for the message when Go is missing ("test/interop"). */
  readonly neededBy: string;
}

/** test/interop/go, the Go service of the interop tests (go.mod requires go.etcd.io/etcd/client/v3, pinned). */
export const INTEROP_PROGRAM: GoProgramSource = {
  dir: fileURLToPath(new URL("./go/", import.meta.url)),
  name: "interop",
  neededBy: "test/interop",
};

/** test/interop/hpack-go, Go's HPACK decoder (golang.org/x/net/http2/hpack) for test/interop/hpack-go.test.ts. */
export const HPACK_PROGRAM: GoProgramSource = {
  dir: fileURLToPath(new URL("./hpack-go/", import.meta.url)),
  name: "hpack",
  neededBy: "test/interop/hpack-go.test.ts",
};

/** Where the project's machines have Go when it is not on PATH. */
const GO_FALLBACK = "/usr/local/go/bin/go";

/**
 * How the program is built: read-only from the committed go.sum (a go.sum that misses an entry fails
 * here instead of changing the repository), no cgo (no C compiler needed), no VCS stamp, no go.work.
 */
const BUILD_ARGS = ["build", "-trimpath", "-o"];
const BUILD_ENV = { GOFLAGS: "-mod=readonly -buildvcs=false", CGO_ENABLED: "0", GOWORK: "off" };

/** How long a build may take on a busy 2-core machine with a cold module cache. */
const BUILD_TIMEOUT_MS = 15 * 60_000;

/**
 * The `go` command: `go` on PATH, else /usr/local/go/bin/go. Throws naming both places (and `neededBy`)
 * when neither exists: the interop tests never skip for want of Go.
 */
export function findGo(
  env: NodeJS.ProcessEnv = process.env,
  fallback = GO_FALLBACK,
  neededBy = INTEROP_PROGRAM.neededBy,
): string {
  for (const dir of (env.PATH ?? "").split(delimiter)) {
    if (dir && isExecutable(join(dir, "go"))) return join(dir, "go");
  }
  if (isExecutable(fallback)) return fallback;
  throw new Error(
    `${neededBy} needs Go (https://go.dev/dl/; 1.26, or any Go >= 1.21, which fetches 1.26 itself) to build its Go client program: no \`go\` on PATH and none at ${fallback}`,
  );
}

/** The files of `dir` a build reads: go.mod, go.sum and the .go files, sorted. */
async function moduleFiles(dir: string): Promise<string[]> {
  return (await readdir(dir))
    .filter((f) => f === "go.mod" || f === "go.sum" || f.endsWith(".go"))
    .sort()
    .map((f) => join(dir, f));
}

/** The folders that go.mod of `dir` replaces modules with (`replace x => ../y`): the repository's shared Go code. */
async function localReplacements(dir: string): Promise<string[]> {
  const goMod = await readFile(join(dir, "go.mod"), "utf8");
  return [...goMod.matchAll(/^\s*replace\s+\S+(?:\s+\S+)?\s+=>\s+(\.{1,2}\/\S*)\s*$/gm)].map((m) =>
    resolve(dir, m[1]!),
  );
}

/**
 * A hash of what the binary is built from: the build settings, and go.mod, go.sum and every .go file of
 * the program's folder and of the local folders its go.mod replaces modules with (test/interop/goline).
 */
async function sourceHash(dir: string): Promise<string> {
  const hash = createHash("sha256").update(JSON.stringify([BUILD_ARGS, BUILD_ENV]));
  for (const folder of [dir, ...(await localReplacements(dir))])
    for (const file of await moduleFiles(folder))
      hash
        .update(relative(dir, file))
        .update("\0")
        .update(await readFile(file));
  return hash.digest("hex").slice(0, 16);
}

/**
 * The path of the built Go program (the interop one unless `program` names another), building it first
 * when this version of its sources has no binary in the cache yet (`<etcd-ts cache>/interop-go/<hash>/interop`).
 * Concurrent callers (several vitest workers, several runs) build once: the first takes a lock folder,
 * the others wait for its binary.
 */
export async function buildGoProgram(program: GoProgramSource = INTEROP_PROGRAM): Promise<string> {
  const dir = join(etcdCacheDir(), `${program.name}-go`, await sourceHash(program.dir));
  const binary = join(dir, program.name);
  if (isExecutable(binary)) return binary;
  const go = findGo(process.env, GO_FALLBACK, program.neededBy);
  await mkdir(dir, { recursive: true });
  const lock = join(dir, "build.lock");
  await acquireLock(lock);
  try {
    if (isExecutable(binary)) return binary;
    const partial = `${binary}.${process.pid}.partial`;
    try {
      await run(go, [...BUILD_ARGS, partial, "."], {
        cwd: program.dir,
        env: { ...process.env, ...BUILD_ENV },
        timeout: BUILD_TIMEOUT_MS,
        maxBuffer: 16 * 1024 * 1024,
      });
    } catch (err) {
      const e = err as Error & { stderr?: string };
      throw new Error(`go build of ${program.dir} failed: ${e.stderr || e.message}`);
    }
    await rename(partial, binary); // atomic: a binary in place is always whole
    return binary;
  } finally {
    await rm(lock, { recursive: true, force: true });
  }
}

/** Takes the lock folder `lock` (mkdir is atomic), waiting while a live process holds it. */
async function acquireLock(lock: string): Promise<void> {
  const deadline = Date.now() + BUILD_TIMEOUT_MS;
  for (;;) {
    try {
      await mkdir(lock);
      await writeFile(join(lock, "pid"), String(process.pid));
      return;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw err;
    }
    if (!(await holderAlive(lock))) {
      await rm(lock, { recursive: true, force: true });
      continue;
    }
    if (Date.now() > deadline) throw new Error(`waited ${BUILD_TIMEOUT_MS} ms for the Go build lock ${lock}`);
    await new Promise((r) => setTimeout(r, 500));
  }
}

/** False when the lock's holder is gone (it died mid-build); true while it runs. */
async function holderAlive(lock: string): Promise<boolean> {
  let pid: number;
  try {
    pid = Number(await readFile(join(lock, "pid"), "utf8"));
  } catch {
    // The holder took the folder and has not written its pid yet, or died in between.
    try {
      return Date.now() - (await stat(lock)).mtimeMs < 60_000;
    } catch {
      return false;
    }
  }
  if (!Number.isInteger(pid) || pid <= 0) return true;
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
}
