import { AsyncQueue } from "./async-queue.js";
import type { BufferedMessages } from "./buffered-messages.js";
import { InvalidUsageError } from "./errors.js";
/** Options of {@link QueuedIterator}. */
export interface QueuedIteratorOptions<T> {
  /**
   * Weight of a buffered value (e.g. the number of events in a batch). Default: every value weighs 1.
   */
  weigh?: ((value: T) => number) | undefined;
  /**
   * Called once the consumer has taken values and the buffered weight fell to `lowWaterMark` or below,
   * after a {@link QueuedIterator.push} reported the buffer over its high-water mark. Default: none.
   */
  onDrain?: (() => void) | undefined;
  /** Buffered weight at or below which `onDrain` fires. Default 0 (the buffer is empty). */
  lowWaterMark?: number | undefined;
  /** Buffered weight above which `push` returns false. Default `Infinity` (never). */
  highWaterMark?: number | undefined;
  /** Called once when the consumer stops (a `break` out of `for await`, or `stop()`). Default: none. */
  onStop?: (() => void) | undefined;
}

/**
 * An async iterator with a queue behind it (after nats.js `queued_iterator.ts`): protocol code pushes,
 * users `for await`. The queue never drops a value; `push` only *reports* that the buffered weight is
 * above the high-water mark, and the producer decides what to do (the watch hub pauses the watch on the
 * server, see docs/leases-and-watches.md). Iterating it twice at once is an error. A transport that
 * reads it as a request stream takes what is buffered beyond the first value in one go
 * ({@link takeBuffered}); values must then never be `undefined`.
 */
export class QueuedIterator<T> extends AsyncQueue<T> implements AsyncIterable<T>, BufferedMessages<T> {
  readonly #options: QueuedIteratorOptions<T>;
  #iterating = false;
  readonly #closed: Promise<Error | undefined>;
  #resolveClosed!: (error: Error | undefined) => void;

  constructor(options: QueuedIteratorOptions<T> = {}) {
    super(options.highWaterMark, options.lowWaterMark);
    this.#options = options;
    this.#closed = new Promise((resolve) => {
      this.#resolveClosed = resolve;
    });
  }

  protected override weigh(value: T): number {
    return this.#options.weigh?.(value) ?? 1;
  }

  protected override drained(): void {
    this.#options.onDrain?.();
  }

  /**
   * Resolves once iteration is over: with the error the producer ended it with, or undefined when it
   * ended cleanly or the consumer stopped. Never rejects.
   */
  get closed(): Promise<Error | undefined> {
    return this.#closed;
  }

  /** Producer side: no more values. The consumer drains the buffer, then ends (throwing `error` if given). */
  override end(error?: Error): boolean {
    if (!super.end(error)) return false;
    if (this.length === 0 && !this.#iterating) this.#resolveClosed(error);
    return true;
  }

  /** Consumer side: stop now, dropping whatever is buffered. */
  override stop(): boolean {
    const wasDone = this.done;
    if (!super.stop()) return false;
    if (!wasDone) this.#options.onStop?.();
    this.#resolveClosed(undefined);
    return true;
  }

  /**
   * Consumer side, beside the iterator: the oldest buffered value, removed (as the iterator would have
   * taken it), or undefined when none is buffered or iteration stopped. The end comes through the iterator.
   */
  takeBuffered(): T | undefined {
    if (this.stopped) return undefined;
    return this.take();
  }

  async *[Symbol.asyncIterator](): AsyncIterator<T> {
    if (this.#iterating) throw new InvalidUsageError("this iterator is already being iterated");
    this.#iterating = true;
    try {
      while (true) {
        if (this.stopped) return;
        if (this.length > 0) {
          yield this.take() as T;
          continue;
        }
        if (this.ended) {
          // The error stays readable: `closed` and a second iteration report it too.
          const error = this.error as Error | undefined;
          this.#resolveClosed(error);
          if (error) throw error;
          return;
        }
        await this.wait();
      }
    } finally {
      this.#iterating = false;
      // A `break` (or a throw in the loop body) lands here without an end: the consumer is gone.
      if (!this.ended) this.stop();
    }
  }
}
