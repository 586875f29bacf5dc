import { UsageError } from "./usage-error.js";

const UNIT_MS: Readonly<Record<string, number>> = {
  ns: 1e-6,
  us: 1e-3,
  µs: 1e-3,
  ms: 1,
  s: 1_000,
  m: 60_000,
  h: 3_600_000,
};

/**
 * Parses a Go duration as etcdctl's `--dial-timeout=2s` takes it (`500ms`, `1m30s`, `1.5s`) into
 * milliseconds; `what` names the flag or variable in the error. A bare number is refused as Go refuses
 * it: `5` could mean seconds or milliseconds.
 */
export function parseDuration(text: string, what: string): number {
  const bad = () =>
    new UsageError(`${what}: ${JSON.stringify(text)} is not a duration (use e.g. 5s, 500ms or 1m30s)`);
  if (!/^(\d+(\.\d+)?(ns|us|µs|ms|s|m|h))+$/.test(text)) throw bad();
  let ms = 0;
  for (const [, amount, , unit] of text.matchAll(/(\d+(\.\d+)?)(ns|us|µs|ms|s|m|h)/g))
    ms += Number(amount) * UNIT_MS[unit!]!;
  if (ms <= 0) throw bad();
  return Math.max(1, Math.round(ms));
}
