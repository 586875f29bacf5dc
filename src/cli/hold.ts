import type { Output } from "./output.js";

/**
 * Waits while a lock, a leadership or a view is held: resolves when the CLI is asked to stop (SIGINT,
 * SIGTERM), rejects with the loss error if `lost` rejects first.
 */
export function holdUntilStopped(signal: AbortSignal, lost?: Promise<never>): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    if (signal.aborted) return resolve();
    signal.addEventListener("abort", () => resolve(), { once: true });
    lost?.catch(reject);
  });
}

/** Runs cleanup that must not fail the command (unlock, resign, close a session): a failure is noted on stderr. */
export async function bestEffort(out: Output, what: string, work: () => Promise<void>): Promise<void> {
  try {
    await work();
  } catch (err) {
    out.note(`etcd-ts: ${what} failed: ${(err as Error).message}`);
  }
}
