import { ETCD_VERSIONS, isEtcdVersionLine } from "../../src/testing/index.js";

/**
 * True when `version` (as `Maintenance/Status` reports it, e.g. `"3.5.36"`) is `atLeast` (`"3.5"`,
 * `"3.5.28"`) or newer: tests assert each server's own behaviour, decided by the version it reports.
 */
export function versionAtLeast(version: string, atLeast: string): boolean {
  const have = numbers(version);
  const want = numbers(atLeast);
  for (let i = 0; i < 3; i++) if (have[i] !== want[i]) return have[i]! > want[i]!;
  return true;
}

function numbers(text: string): [number, number, number] {
  const m = /^(\d+)\.(\d+)(?:\.(\d+))?/.exec(text);
  if (!m) throw new Error(`not an etcd version: ${JSON.stringify(text)}`);
  return [Number(m[1]), Number(m[2]), Number(m[3] ?? 0)];
}

/**
 * The patch release the kit runs when a test asked for a release line (`ETCD_VERSION`, which vitest
 * sets per project) and `ETCD_BIN` does not name another binary; else undefined.
 */
export function pinnedEtcdVersion(env: NodeJS.ProcessEnv = process.env): string | undefined {
  const line = env.ETCD_VERSION;
  if (env.ETCD_BIN || !line || !isEtcdVersionLine(line)) return undefined;
  return ETCD_VERSIONS[line];
}

/**
 * True when the server carries the fix of CVE-2026-33413 (3.4.42, 3.5.28, 3.6.9 and later): with auth
 * on, Status, Alarm (GET), MemberList, LeaseGrant, LeaseRevoke and LeaseTimeToLive need a valid token.
 */
export function hasAuthHardening(version: string): boolean {
  if (versionAtLeast(version, "3.6")) return versionAtLeast(version, "3.6.9");
  if (versionAtLeast(version, "3.5")) return versionAtLeast(version, "3.5.28");
  return versionAtLeast(version, "3.4.42");
}
