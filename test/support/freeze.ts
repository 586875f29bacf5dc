import { readFile } from "node:fs/promises";
import type { EtcdMember } from "../../src/testing/index.js";

/**
 * Freezes `member` (SIGSTOP) and waits until the kernel reports it stopped. kill(2) returns before the
 * signal takes effect, and on a busy machine etcd could still answer a request sent right after it.
 * Where /proc is missing (not Linux) it falls back to a short pause.
 */
export async function freezeMember(member: EtcdMember, timeoutMs = 2_000): Promise<void> {
  const pid = member.pid;
  member.freeze();
  if (pid === undefined) throw new Error(`member ${member.name} is not running`);
  const until = Date.now() + timeoutMs;
  for (;;) {
    let state: string | undefined;
    try {
      const stat = await readFile(`/proc/${pid}/stat`, "utf8");
      // Field 3, after the parenthesised command name (which may contain spaces).
      state = stat.slice(stat.lastIndexOf(")") + 2).split(" ")[0];
    } catch {
      await new Promise((resolve) => setTimeout(resolve, 50));
      return;
    }
    if (state === "T" || state === "t") return;
    if (Date.now() > until) throw new Error(`member ${member.name} did not stop (state ${state})`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}
