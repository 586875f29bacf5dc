import { readFileSync } from "node:fs";
import { type GatewayRequestOptions, gatewayRequest } from "../../src/testing/index.js";

/** KV Put through etcd's HTTP gateway (keys and values travel base64-encoded). */
export async function gatewayPut(
  endpoint: string,
  key: string,
  value: string,
  options?: GatewayRequestOptions,
): Promise<void> {
  await gatewayRequest(endpoint, "/v3/kv/put", { key: b64(key), value: b64(value) }, options);
}

/** KV Range of one key through etcd's HTTP gateway; undefined when absent. */
export async function gatewayGet(
  endpoint: string,
  key: string,
  options?: GatewayRequestOptions,
): Promise<string | undefined> {
  const res = await gatewayRequest<{ kvs?: { value?: string }[] }>(
    endpoint,
    "/v3/kv/range",
    { key: b64(key) },
    options,
  );
  const value = res.kvs?.[0]?.value;
  return value === undefined ? undefined : Buffer.from(value, "base64").toString("utf8");
}

/**
 * True while a process with this pid runs (a stopped one counts, a zombie does not: in a container
 * whose init does not reap, a killed orphan can stay a zombie for good).
 */
export function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3) !== "Z";
  } catch {
    return true;
  }
}

/** Polls `check` every 50 ms until it holds or `timeoutMs` passes; returns its last result. */
export async function eventually(check: () => boolean, timeoutMs = 5_000): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) return false;
    await new Promise((r) => setTimeout(r, 50));
  }
  return true;
}

function b64(s: string): string {
  return Buffer.from(s, "utf8").toString("base64");
}
