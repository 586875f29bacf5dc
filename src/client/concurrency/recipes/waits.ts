import { Code } from "@connectrpc/connect";
import { AbortedError, ClosedError, DeadlineExceededError } from "../../core/errors.js";
import { anySignal, type WaitSignal, waitSignal } from "../../core/signals.js";
import { checkOptionsObject, checkSignal } from "../../core/validation.js";

/** Options of every recipe call that may wait. */
export interface RecipeWaitOptions {
  /** Aborts the call: it rejects with `AbortedError` (cause: the signal's reason), after cleaning up its keys. */
  signal?: AbortSignal | undefined;
  /** Gives up after this many ms with `DeadlineExceededError`, after cleaning up its keys. Default: no limit. */
  timeoutMs?: number | undefined;
}

/**
 * The calls in flight on one recipe object, and its `close()`: each call's signal fires on the caller's
 * `signal`, its `timeoutMs` or the object's `close()`, whose reason is an `AbortedError`, a
 * `DeadlineExceededError` or a `ClosedError` (see {@link waitSignal}).
 */
export class RecipeWaits {
  readonly #what: string;
  readonly #closer = new AbortController();

  /** `what` names the object in errors ("queue jobs"). */
  constructor(what: string) {
    this.#what = what;
  }

  /** True once `close()` was called. */
  get isClosed(): boolean {
    return this.#closer.signal.aborted;
  }

  /**
   * Starts call `call` (`"dequeue"`): validates `options`, throws `ClosedError` once closed, and returns
   * the call's signal. The caller must `dispose()` it.
   */
  start(call: string, options: RecipeWaitOptions | undefined): WaitSignal {
    checkOptionsObject(options);
    checkSignal(options?.signal);
    this.throwIfClosed();
    const name = `${this.#what}: ${call}`;
    const either = anySignal([options?.signal, this.#closer.signal]);
    const wait = waitSignal(
      {
        aborted: (reason) =>
          this.#closer.signal.aborted
            ? (this.#closer.signal.reason as Error)
            : new AbortedError(`${name} aborted`, { code: Code.Canceled, cause: reason }),
        timedOut: () =>
          new DeadlineExceededError(`${name} timed out after ${options?.timeoutMs} ms`, {
            code: Code.DeadlineExceeded,
          }),
      },
      either.signal,
      options?.timeoutMs,
    );
    return {
      signal: wait.signal,
      rethrow: (err) => wait.rethrow(err),
      dispose() {
        wait.dispose();
        either.dispose();
      },
    };
  }

  /**
   * Runs call `call` (`"dequeue"`): `body` gets the call's signal (see {@link start}); when it fails,
   * `onFailure` (the call's clean-up: delete the key it may have put) runs before the failure is rethrown
   * as the signal's reason when that fired. The one shape of every recipe call.
   */
  async run<T>(
    call: string,
    options: RecipeWaitOptions | undefined,
    body: (signal: AbortSignal) => Promise<T>,
    onFailure?: () => Promise<void> | void,
  ): Promise<T> {
    const wait = this.start(call, options);
    try {
      return await body(wait.signal);
    } catch (err) {
      await onFailure?.();
      return wait.rethrow(err);
    } finally {
      wait.dispose();
    }
  }

  /** Throws `ClosedError` once `close()` was called. */
  throwIfClosed(): void {
    if (this.isClosed) throw this.#closer.signal.reason;
  }

  /** Ends every call in flight with a `ClosedError`; later calls throw it at once. */
  close(): void {
    if (!this.isClosed) this.#closer.abort(new ClosedError(`${this.#what} was closed`));
  }
}
