import { accessSync, constants, statSync } from "node:fs";
import { delimiter, join } from "node:path";
import { Code } from "@connectrpc/connect";
import { EtcdError } from "../client/errors.js";

/** The three ways to give the kit an etcd, named in every {@link EtcdUnavailableError}. */
const THREE_WAYS =
  "set ETCD_BIN to an etcd binary; or put `etcd` on PATH (Debian/Ubuntu: apt-get install etcd-server); " +
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

/** Resolves the binary to run: an explicit path (checked), else {@link findEtcdBinary}. */
export function resolveEtcdBinary(binary: string | undefined, env: NodeJS.ProcessEnv): string | undefined {
  if (binary === undefined) return findEtcdBinary(env);
  if (isExecutable(binary)) return binary;
  throw new EtcdUnavailableError(`the etcd binary ${binary} is not an executable file`);
}

function isExecutable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return statSync(path).isFile();
  } catch {
    return false;
  }
}
