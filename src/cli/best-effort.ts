import type { Output } from "./output.js";

/** Runs cleanup that must not fail the command (unlock, resign, close a session): a failure is noted on stderr. */
export async function bestEffort(out: Output, what: string, work: () => Promise<void>): Promise<void> {
  try {
    await work();
  } catch (err) {
    out.note(`etcd-ts: ${what} failed: ${(err as Error).message}`);
  }
}
