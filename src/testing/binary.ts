import { delimiter, join } from "node:path";
import { Code } from "@connectrpc/connect";
import { EtcdError } from "../client/core/index.js";
import {
  DEFAULT_ETCD_VERSION,
  ETCD_VERSIONS,
  etcdCacheDir,
  installedEtcdBinary,
  installedFailpointBinary,
  isEtcdVersionLine,
  isExecutable,
} from "./versions.js";

/** The three ways to give the kit an etcd, named in every {@link EtcdUnavailableError}. */
const THREE_WAYS =
  "set ETCD_BIN to an etcd binary; or install the pinned releases (`npm run etcd:install` in etcd-ts's repository) and pass `version` or set ETCD_VERSION; or put `etcd` on PATH (Debian/Ubuntu: apt-get install etcd-server); " +
  'or run a Docker engine and use startEtcd({ runtime: "auto" | "docker" }) (needs the optional peer `testcontainers`)';

/**
 * Error raised when no way to run etcd is found; its message names all three ways to get one. An
 * `EtcdError` with code FAILED_PRECONDITION (the machine lacks what the kit needs).
 */
export class EtcdUnavailableError extends EtcdError {
  override name = "EtcdUnavailableError";

  /** `reason` says what was tried; the three ways to get etcd are appended. */
  constructor(reason: string, options?: { cause?: unknown }) {
    super(`${reason}. To run etcd for tests: ${THREE_WAYS}.`, {
      code: Code.FailedPrecondition,
      cause: options?.cause,
    });
  }
}

/**
 * Finds an etcd binary: `ETCD_BIN` first, then `etcd` on PATH; undefined when there is none.
 * Throws {@link EtcdUnavailableError} when `ETCD_BIN` names something that is not executable, since
 * silently falling back would hide a typo.
 */
export function findEtcdBinary(env: NodeJS.ProcessEnv = process.env): string | undefined {
  const fromEnv = env.ETCD_BIN;
  if (fromEnv) {
    if (isExecutable(fromEnv)) return fromEnv;
    throw new EtcdUnavailableError(`ETCD_BIN is set to ${fromEnv}, which is not an executable file`);
  }
  for (const dir of (env.PATH ?? "").split(delimiter)) {
    if (!dir) continue;
    const candidate = join(dir, "etcd");
    if (isExecutable(candidate)) return candidate;
  }
  return undefined;
}

/**
 * Finds the installed binary of a release line (`"3.6"`, see `ETCD_VERSIONS`) in the cache that
 * `npm run etcd:install` fills. Throws {@link EtcdUnavailableError} for an unknown line or one that is not
 * installed: a test asked for a version must not run on another.
 */
export function findEtcdVersion(version: string, env: NodeJS.ProcessEnv = process.env): string {
  if (!isEtcdVersionLine(version))
    throw new EtcdUnavailableError(
      `etcd version ${JSON.stringify(version)} is not one of the pinned lines ${Object.keys(ETCD_VERSIONS).join(", ")}`,
    );
  const binary = installedEtcdBinary(version, env);
  if (binary) return binary;
  throw new EtcdUnavailableError(
    `etcd ${ETCD_VERSIONS[version]} (line ${version}) is not installed under ${join(etcdCacheDir(env), "etcd")}`,
  );
}

/**
 * Finds the failpoint build of a release line (etcd instrumented with gofail, made by
 * `scripts/etcd-failpoints.sh` in etcd-ts's repository). Throws {@link EtcdUnavailableError} for an
 * unknown line or one not built: a test that needs failpoints must not run on a plain build.
 */
export function findFailpointBuild(version: string, env: NodeJS.ProcessEnv = process.env): string {
  if (!isEtcdVersionLine(version) || version === "3.4")
    throw new EtcdUnavailableError(
      `etcd version ${JSON.stringify(version)} has no failpoint build (lines 3.5, 3.6 and 3.7 have)`,
    );
  const binary = installedFailpointBinary(version, env);
  if (binary) return binary;
  throw new EtcdUnavailableError(
    `etcd ${ETCD_VERSIONS[version]} with failpoints (line ${version}) is not built under ${join(etcdCacheDir(env), "etcd")}: run \`bash scripts/etcd-failpoints.sh ${version}\` in etcd-ts's repository`,
  );
}

/**
 * Resolves the binary to run: an explicit path (checked); else an explicit `version`; else `ETCD_BIN`;
 * else `ETCD_VERSION`; else `etcd` on PATH. With `failpoints`, an explicit path (assumed instrumented)
 * or else the failpoint build of `version`, `ETCD_VERSION` or the default line (`ETCD_BIN` is not
 * used: a plain build has no failpoints).
 */
export function resolveEtcdBinary(
  binary: string | undefined,
  env: NodeJS.ProcessEnv,
  version?: string,
  failpoints = false,
): string | undefined {
  if (binary !== undefined) {
    if (isExecutable(binary)) return binary;
    throw new EtcdUnavailableError(`the etcd binary ${binary} is not an executable file`);
  }
  if (failpoints) return findFailpointBuild(version ?? (env.ETCD_VERSION || DEFAULT_ETCD_VERSION), env);
  if (version !== undefined) return findEtcdVersion(version, env);
  if (!env.ETCD_BIN && env.ETCD_VERSION) return findEtcdVersion(env.ETCD_VERSION, env);
  return findEtcdBinary(env);
}
