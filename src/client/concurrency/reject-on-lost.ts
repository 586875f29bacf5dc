/** Rejects with `makeError(cause)` if the session's lease is lost before `signal` aborts; never resolves. */
export function rejectOnLost(
  onLost: (listener: (error: unknown) => void) => () => void,
  signal: AbortSignal,
  makeError: (cause: unknown) => Error,
): Promise<never> {
  return new Promise<never>((_, reject) => {
    const unlisten = onLost((cause) => reject(makeError(cause)));
    signal.addEventListener("abort", unlisten, { once: true });
  });
}
