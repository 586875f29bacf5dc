import { execFile } from "node:child_process";
import { promisify } from "node:util";

const run = promisify(execFile);

/** Runs `etcdctl` (v3 API) against `endpoint`; resolves with stdout, rejects with stderr in the message. */
export async function etcdctl(endpoint: string, args: string[], extra: string[] = []): Promise<string> {
  try {
    const { stdout } = await run("etcdctl", [`--endpoints=${endpoint}`, ...extra, ...args], {
      env: { ...process.env, ETCDCTL_API: "3" },
      timeout: 20_000,
    });
    return stdout;
  } catch (err) {
    const e = err as Error & { stderr?: string };
    throw new Error(`etcdctl ${args.join(" ")} failed: ${e.stderr ?? e.message}`);
  }
}
