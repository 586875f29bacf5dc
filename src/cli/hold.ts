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

/** Ends `session`-like work without failing the command: a failed cleanup is noted, never thrown. */
export async function bestEffort(
  what: string,
  work: () => Promise<void>,
  note: (text: string) => void,
): Promise<void> {
  try {
    await work();
  } catch (err) {
    note(`etcd-ts: ${what} failed: ${(err as Error).message}`);
  }
}
