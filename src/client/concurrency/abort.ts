import { Code } from "@connectrpc/connect";
import { AbortedError, DeadlineExceededError } from "../core/errors.js";
import { anySignal } from "../core/signals.js";
import { checkNumber, checkSignal } from "../core/validation.js";

/** A signal that fires on the caller's signal or after `timeoutMs`, with a typed reason; `dispose()` clears the timer and aborts what still listens. */
export interface WaitSignal {
  readonly signal: AbortSignal;
  /** Throws the typed reason if the signal fired, else `err`. */
  rethrow(err: unknown): never;
  dispose(): void;
}

/**
 * Combines the caller's `signal` and `timeoutMs` into one signal whose reason is an `AbortedError` or a
 * `DeadlineExceededError`, so a wait cut short fails with the error that says why.
 */
export function waitSignal(what: string, signal?: AbortSignal, timeoutMs?: number): WaitSignal {
  checkSignal(signal);
  checkNumber(timeoutMs, "timeoutMs", 0);
  const controller = new AbortController();
  const limit = anySignal([signal], timeoutMs);
  const onLimit = () =>
    controller.abort(
      signal?.aborted
        ? new AbortedError(`${what} aborted`, { code: Code.Canceled, cause: signal.reason })
        : new DeadlineExceededError(`${what} timed out after ${timeoutMs} ms`, {
            code: Code.DeadlineExceeded,
          }),
    );
  if (limit.signal.aborted) onLimit();
  else limit.signal.addEventListener("abort", onLimit, { once: true });
  return {
    signal: controller.signal,
    rethrow(err: unknown): never {
      if (controller.signal.aborted) throw controller.signal.reason;
      throw err;
    },
    dispose() {
      limit.dispose();
      limit.signal.removeEventListener("abort", onLimit);
      // Ends whatever still listens on the signal (a watch left behind by a race).
      if (!controller.signal.aborted)
        controller.abort(new AbortedError(`${what} finished`, { code: Code.Canceled }));
    },
  };
}

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
