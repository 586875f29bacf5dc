/**
 * Waits while a lock, a leadership or a view is held: resolves when the CLI is asked to stop (SIGINT,
 * SIGTERM) or the hold was released here; rejects with the error a hold that ended by itself reports
 * (`closed` of a Mutex or Election: a `LockLostError`).
 */
export function untilStopped(signal: AbortSignal, closed?: Promise<Error | undefined>): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    if (signal.aborted) return resolve();
    signal.addEventListener("abort", () => resolve(), { once: true });
    void closed?.then((error) => (error ? reject(error) : resolve()));
  });
}
