/** Waits `ms`, or less when either signal aborts (it resolves then; the caller checks why). */
export function sleep(ms: number, a: AbortSignal | undefined, b: AbortSignal | undefined): Promise<void> {
  if (a?.aborted || b?.aborted) return Promise.resolve();
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      a?.removeEventListener("abort", done);
      b?.removeEventListener("abort", done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    a?.addEventListener("abort", done, { once: true });
    b?.addEventListener("abort", done, { once: true });
  });
}
