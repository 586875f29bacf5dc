// Builds test/interop/go (a Go service on etcd's Go client) once per source version and machine: the
// binary is cached under the etcd-ts cache folder, keyed by a hash of go.mod, go.sum and the Go files,
// so only the first run after a change pays for `go build`.
import { execFile } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdir, readdir, readFile, rename, rm, stat, writeFile } from "node:fs/promises";
import { delimiter, join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { etcdCacheDir } from "../../src/testing/index.js";
import { isExecutable } from "../../src/testing/versions.js";

const run = promisify(execFile);

/** The Go program's folder (its own module: go.mod requires go.etcd.io/etcd/client/v3, pinned). */
export const GO_PROGRAM_DIR = fileURLToPath(new URL("./go/", import.meta.url));

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
 * The `go` command: `go` on PATH, else /usr/local/go/bin/go. Throws naming both places when neither
 * exists: the interop tests never skip for want of Go.
 */
export function findGo(env: NodeJS.ProcessEnv = process.env, fallback = GO_FALLBACK): string {
  for (const dir of (env.PATH ?? "").split(delimiter)) {
    if (dir && isExecutable(join(dir, "go"))) return join(dir, "go");
  }
  if (isExecutable(fallback)) return fallback;
  throw new Error(
    `test/interop needs Go (https://go.dev/dl/; 1.26, or any Go >= 1.21, which fetches 1.26 itself) to build its Go client program: no \`go\` on PATH and none at ${fallback}`,
  );
}

/** A hash of what the binary is built from: go.mod, go.sum, every .go file and the build settings. */
async function sourceHash(): Promise<string> {
  const files = (await readdir(GO_PROGRAM_DIR))
    .filter((f) => f === "go.mod" || f === "go.sum" || f.endsWith(".go"))
    .sort();
  const hash = createHash("sha256").update(JSON.stringify([BUILD_ARGS, BUILD_ENV]));
  for (const f of files)
    hash
      .update(f)
      .update("\0")
      .update(await readFile(join(GO_PROGRAM_DIR, f)));
  return hash.digest("hex").slice(0, 16);
}

/**
 * The path of the built Go program, building it first when this version of its sources has no binary
 * in the cache yet (`<etcd-ts cache>/interop-go/<hash>/interop`). Concurrent callers (several vitest
 * workers, several runs) build once: the first takes a lock folder, the others wait for its binary.
 */
export async function buildGoProgram(): Promise<string> {
  const dir = join(etcdCacheDir(), "interop-go", await sourceHash());
  const binary = join(dir, "interop");
  if (isExecutable(binary)) return binary;
  const go = findGo();
  await mkdir(dir, { recursive: true });
  const lock = join(dir, "build.lock");
  await acquireLock(lock);
  try {
    if (isExecutable(binary)) return binary;
    const partial = `${binary}.${process.pid}.partial`;
    try {
      await run(go, [...BUILD_ARGS, partial, "."], {
        cwd: GO_PROGRAM_DIR,
        env: { ...process.env, ...BUILD_ENV },
        timeout: BUILD_TIMEOUT_MS,
        maxBuffer: 16 * 1024 * 1024,
      });
    } catch (err) {
      const e = err as Error & { stderr?: string };
      throw new Error(`go build of ${GO_PROGRAM_DIR} failed: ${e.stderr || e.message}`);
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
