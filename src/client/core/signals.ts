// Helpers for AbortSignal, shared by every folder of the client (one copy, not one per folder).

/** Resolves or rejects as `work` does, but rejects at once when `signal` aborts (with its reason). */
export function untilAborted<T>(work: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(signal.reason);
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason);
    signal.addEventListener("abort", onAbort, { once: true });
    work.then(
      (v) => {
        signal.removeEventListener("abort", onAbort);
        resolve(v);
      },
      (e) => {
        signal.removeEventListener("abort", onAbort);
        reject(e);
      },
    );
  });
}

/** A combined signal and the means to let go of what it listens to. */
export interface CombinedSignal {
  readonly signal: AbortSignal;
  /** Clears the timer and stops listening (the signal stays as it is). */
  dispose(): void;
}

/**
 * A signal that aborts when any of `signals` does (with that one's reason), or once `timeoutMs` have
 * passed (with a `TimeoutError` DOMException, as `AbortSignal.timeout` gives), until `dispose()`.
 *
 * Use it instead of `AbortSignal.any([..., AbortSignal.timeout(ms)])`: on Node 20 the combined signal
 * holds its sources only weakly, so a garbage collection can take the timeout signal before it fires
 * and the combined signal then never aborts (it hung an Authenticate wait forever in a busy test run;
 * `signals.spec.ts` shows it with `--expose-gc`). Here the timer holds the controller until it fires.
 */
export function anySignal(signals: readonly (AbortSignal | undefined)[], timeoutMs?: number): CombinedSignal {
  const controller = new AbortController();
  const listening: AbortSignal[] = [];
  let timer: ReturnType<typeof setTimeout> | undefined;
  const dispose = (): void => {
    clearTimeout(timer);
    timer = undefined;
    for (const s of listening) s.removeEventListener("abort", onAbort);
    listening.length = 0;
  };
  function onAbort(this: AbortSignal): void {
    dispose();
    controller.abort(this.reason);
  }
  for (const s of signals) {
    if (!s) continue;
    if (s.aborted) {
      dispose();
      controller.abort(s.reason);
      return { signal: controller.signal, dispose };
    }
    s.addEventListener("abort", onAbort, { once: true });
    listening.push(s);
  }
  if (timeoutMs !== undefined) {
    timer = setTimeout(() => {
      dispose();
      controller.abort(new DOMException("The operation was aborted due to timeout", "TimeoutError"));
    }, timeoutMs);
    // The work the signal limits holds the process if it must; a deadline alone does not.
    timer.unref?.();
  }
  return { signal: controller.signal, dispose };
}
