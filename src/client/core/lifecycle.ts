import { ClosedError } from "./errors.js";
import type { EventEmitter } from "./event-emitter.js";

/**
 * The lifecycle every live object shares (docs/client.md, "Live objects"): a `state` that ends in
 * `"closed"` with a `state` event per change, a `closed` promise that settles once and never rejects
 * (`undefined` when this process ended the object, its error when it ended by itself), a `close`
 * event with the same value, and a `signal` aborted at the end (reason: the error, or a
 * {@link ClosedError}). Owners delegate to one of these; only the Watcher keeps its own copy of the
 * same rules, packed into bit flags because a client may hold 100,000 of them.
 */
export class Lifecycle<State extends string> {
  readonly #emitter: EventEmitter;
  /** Names the object in the reason of `signal` when this process closed it ("the lease was closed"). */
  readonly #what: string;
  #state: State | "closed";
  #ended = false;
  #error: Error | undefined;
  #closed: Promise<Error | undefined> | undefined;
  #resolveClosed: ((error: Error | undefined) => void) | undefined;
  #abort: AbortController | undefined;
  #onEnd: Set<(error: Error | undefined) => void> | undefined;

  constructor(emitter: EventEmitter, what: string, initial: State) {
    this.#emitter = emitter;
    this.#what = what;
    this.#state = initial;
  }

  /** The current state; `"closed"` once ended. */
  get state(): State | "closed" {
    return this.#state;
  }

  /** True once ended. */
  get ended(): boolean {
    return this.#ended;
  }

  /** The error it ended with (undefined while open, or when this process ended it). */
  get error(): Error | undefined {
    return this.#error;
  }

  /** Settles once, at the end: the error, or undefined. Never rejects. */
  get closed(): Promise<Error | undefined> {
    if (!this.#closed) {
      if (this.#ended) this.#closed = Promise.resolve(this.#error);
      else
        this.#closed = new Promise((resolve) => {
          this.#resolveClosed = resolve;
        });
    }
    return this.#closed;
  }

  /** Aborted at the end; the reason is the error, or a ClosedError. */
  get signal(): AbortSignal {
    if (!this.#abort) {
      this.#abort = new AbortController();
      if (this.#ended) this.#abort.abort(this.#reason());
    }
    return this.#abort.signal;
  }

  /**
   * Calls `listener` synchronously when it ends (at once if it already has); returns a function that
   * removes it. For owners chaining live objects (a session on its lease): nothing is kept once removed.
   */
  onEnd(listener: (error: Error | undefined) => void): () => void {
    if (this.#ended) {
      listener(this.#error);
      return () => {};
    }
    this.#onEnd ??= new Set();
    this.#onEnd.add(listener);
    return () => this.#onEnd?.delete(listener);
  }

  /** Moves to `state` (not the end: use {@link end}); a change is a `state` event, from a microtask. */
  set(state: State): void {
    if (this.#ended || state === this.#state) return;
    this.#state = state;
    this.#emitLater("state", state);
  }

  /**
   * Ends it: state `"closed"`, `closed` settles, `signal` aborts, then (from a microtask) the `state`
   * and `close` events. False when it had already ended.
   */
  end(error?: Error): boolean {
    if (this.#ended) return false;
    this.#ended = true;
    this.#error = error;
    this.#state = "closed";
    const resolve = this.#resolveClosed;
    this.#resolveClosed = undefined;
    resolve?.(error);
    this.#abort?.abort(this.#reason());
    const onEnd = this.#onEnd;
    this.#onEnd = undefined;
    if (onEnd) for (const listener of onEnd) listener(error);
    this.#emitLater("state", "closed");
    this.#emitLater("close", error);
    return true;
  }

  #reason(): Error {
    return this.#error ?? new ClosedError(`the ${this.#what} was closed`);
  }

  /** Events are emitted from a microtask: a listener may act on the client, never inside our bookkeeping. */
  #emitLater(event: string, value: unknown): void {
    queueMicrotask(() => this.#emitter.emit(event, value));
  }
}
