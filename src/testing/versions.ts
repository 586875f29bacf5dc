import { accessSync, constants, statSync } from "node:fs";
import { homedir } from "node:os";
import { join } from "node:path";

/**
 * The etcd release lines the project tests against, each pinned to one patch release. 3.4 is Debian
 * bookworm's package (the last 3.4 the machines here can get: 3.4 has no Go module to build from);
 * 3.5, 3.6 and 3.7 are built from etcd's Go modules by `npm run etcd:install`
 * (scripts/etcd-versions.sh, which reads this table).
 */
export const ETCD_VERSIONS = {
  "3.4": "3.4.23",
  "3.5": "3.5.36",
  "3.6": "3.6.17",
  "3.7": "3.7.4",
} as const;

/** A release line of {@link ETCD_VERSIONS}. */
export type EtcdVersionLine = keyof typeof ETCD_VERSIONS;

/**
 * The line the project's own suite runs on when nothing else is asked: 3.6, what Kubernetes ships and
 * most clusters run today (docs/testing.md says why).
 */
export const DEFAULT_ETCD_VERSION: EtcdVersionLine = "3.6";

/** True when `line` is one of the pinned release lines. */
export function isEtcdVersionLine(line: string): line is EtcdVersionLine {
  return Object.hasOwn(ETCD_VERSIONS, line);
}

/**
 * The folder `npm run etcd:install` installs into: `ETCD_TS_CACHE`, else `$XDG_CACHE_HOME/etcd-ts`,
 * else `~/.cache/etcd-ts`.
 */
export function etcdCacheDir(env: NodeJS.ProcessEnv = process.env): string {
  if (env.ETCD_TS_CACHE) return env.ETCD_TS_CACHE;
  return join(env.XDG_CACHE_HOME || join(homedir(), ".cache"), "etcd-ts");
}

/**
 * Where the pinned binary of `line` is installed (`<cache>/etcd/<patch>/etcd`; for 3.4, Debian's
 * `/usr/bin/etcd` when the cache has none), or undefined when it is not installed.
 */
export function installedEtcdBinary(
  line: EtcdVersionLine,
  env: NodeJS.ProcessEnv = process.env,
): string | undefined {
  const patch = ETCD_VERSIONS[line];
  const candidates = [join(etcdCacheDir(env), "etcd", patch, "etcd")];
  if (line === "3.4") candidates.push("/usr/bin/etcd");
  return candidates.find(isExecutable);
}

/**
 * Where the failpoint build of `line` is (`<cache>/etcd/<patch>-failpoints/etcd`: etcd instrumented with
 * gofail by `scripts/etcd-failpoints.sh`), or undefined when it was not built. 3.4 has none.
 */
export function installedFailpointBinary(
  line: EtcdVersionLine,
  env: NodeJS.ProcessEnv = process.env,
): string | undefined {
  const path = join(etcdCacheDir(env), "etcd", `${ETCD_VERSIONS[line]}-failpoints`, "etcd");
  return isExecutable(path) ? path : undefined;
}

/** True when `path` is an executable regular file. */
export function isExecutable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return statSync(path).isFile();
  } catch {
    return false;
  }
}
