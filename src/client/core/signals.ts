import { Code } from "@connectrpc/connect";
import { AbortedError, DeadlineExceededError } from "./errors.js";
import { checkNumber, checkSignal } from "./validation.js";

// Waiting, bounded by an AbortSignal and a deadline: the one sleep and the one abort-plus-deadline
// helper of etcd-ts, shared by every floor (one copy, not one per folder).

/**
 * Resolves or rejects as `work` does, but rejects at once when `signal` aborts (with its reason).
 * `work` gets its handlers first, always: work shared with other waiters, or left behind by this one,
 * never rejects unhandled.
 */
export function untilAborted<T>(work: Promise<T>, signal: AbortSignal): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason);
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
    if (signal.aborted) onAbort();
    else signal.addEventListener("abort", onAbort, { once: true });
  });
}

/**
 * Waits `ms`, or less when any of `signals` aborts (it resolves then; the caller checks why). The timer
 * is ref'd: someone waits for what comes after it, so it holds the process like the call it delays.
 */
export function sleep(ms: number, ...signals: (AbortSignal | undefined)[]): Promise<void> {
  if (signals.some((s) => s?.aborted)) return Promise.resolve();
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      for (const s of signals) s?.removeEventListener("abort", done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    for (const s of signals) s?.addEventListener("abort", done, { once: true });
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

/** What a wait cut short fails with: one error for the caller's abort, one for the deadline. */
export interface WaitErrors {
  /** The error when the caller's signal aborted, given its reason. */
  aborted(reason: unknown): Error;
  /** The error when the deadline passed first. */
  timedOut(): Error;
}

/**
 * A signal that fires on the caller's signal or after `timeoutMs`, with a typed reason; `dispose()` clears
 * the timer and aborts what still listens.
 */
export interface WaitSignal {
  readonly signal: AbortSignal;
  /** Throws the typed reason if the signal fired, else `err`. */
  rethrow(err: unknown): never;
  dispose(): void;
}

/**
 * Combines the caller's `signal` and `timeoutMs` into one signal whose reason says why a wait was cut
 * short: for `what` (a string naming the wait) an `AbortedError` ("`what` aborted") or a
 * `DeadlineExceededError` ("`what` timed out after N ms"); or the errors `what` makes, when a caller
 * must fail another way (marked not-sent, or as a `ConnectError` of a transport). Wait on it with
 * {@link untilAborted}, or hand its signal to the work. Like {@link anySignal}, the deadline alone does
 * not hold the process. Throws `InvalidArgumentError` for a `signal` that is not an `AbortSignal` or a
 * negative `timeoutMs`.
 */
export function waitSignal(what: string | WaitErrors, signal?: AbortSignal, timeoutMs?: number): WaitSignal {
  checkSignal(signal);
  checkNumber(timeoutMs, "timeoutMs", 0);
  const errors = typeof what === "string" ? namedWaitErrors(what, timeoutMs) : what;
  const controller = new AbortController();
  const limit = anySignal([signal], timeoutMs);
  const onLimit = () => controller.abort(signal?.aborted ? errors.aborted(signal.reason) : errors.timedOut());
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
        controller.abort(
          new AbortedError(`${typeof what === "string" ? what : "wait"} finished`, { code: Code.Canceled }),
        );
    },
  };
}

/** The errors of a wait named `what`: an `AbortedError` with the abort's reason as cause, or a `DeadlineExceededError`. */
function namedWaitErrors(what: string, timeoutMs: number | undefined): WaitErrors {
  return {
    aborted: (reason) => new AbortedError(`${what} aborted`, { code: Code.Canceled, cause: reason }),
    timedOut: () =>
      new DeadlineExceededError(`${what} timed out after ${timeoutMs} ms`, { code: Code.DeadlineExceeded }),
  };
}

/**
 * Runs `callback` after the current turn of the event loop, its I/O included: Node's `setImmediate`
 * (Node, Bun, Deno), or a zero-delay `setTimeout` in a runtime without one (browsers, workerd).
 */
export function afterThisTurn(callback: () => void): void {
  if (typeof globalThis.setImmediate === "function") setImmediate(callback);
  else setTimeout(callback, 0);
}
