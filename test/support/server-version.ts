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
