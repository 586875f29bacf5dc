import { accessSync, constants } from "node:fs";
import { delimiter, join } from "node:path";

/** Error raised when no way to run etcd is found; its message names all three. */
export class EtcdUnavailableError extends Error {
  override name = "EtcdUnavailableError";
  readonly code = "ETCD_UNAVAILABLE";
}

/** Finds an etcd binary: `ETCD_BIN` first, then `etcd` on PATH; undefined when there is none. */
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

function isExecutable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}
