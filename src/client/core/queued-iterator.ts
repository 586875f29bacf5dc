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
export class QueuedIterator<T> implements AsyncIterable<T>, BufferedMessages<T> {
  readonly #buffer: T[] = [];
  readonly #weigh: (value: T) => number;
  readonly #options: QueuedIteratorOptions<T>;
  #weight = 0;
  #ended = false;
  #stopped = false;
  #error: Error | undefined;
  #overHighWater = false;
  #wake: (() => void) | undefined;
  #iterating = false;
  readonly #closed: Promise<Error | undefined>;
  #resolveClosed!: (error: Error | undefined) => void;

  constructor(options: QueuedIteratorOptions<T> = {}) {
    this.#options = options;
    this.#weigh = options.weigh ?? (() => 1);
    this.#closed = new Promise((resolve) => {
      this.#resolveClosed = resolve;
    });
  }

  /**
   * Resolves once iteration is over: with the error the producer ended it with, or undefined when it
   * ended cleanly or the consumer stopped. Never rejects.
   */
  get closed(): Promise<Error | undefined> {
    return this.#closed;
  }

  /** Buffered weight not yet taken by the consumer. */
  get weight(): number {
    return this.#weight;
  }

  /** Number of buffered values. */
  get length(): number {
    return this.#buffer.length;
  }

  /** True once the producer ended it or the consumer stopped. */
  get done(): boolean {
    return this.#ended || this.#stopped;
  }

  /**
   * Queues a value for the consumer. Returns false when the buffered weight is now above the high-water
   * mark (the value is queued anyway); values pushed after the end are ignored (returns false).
   */
  push(value: T): boolean {
    if (this.done) return false;
    this.#buffer.push(value);
    this.#weight += this.#weigh(value);
    this.#wakeUp();
    if (this.#weight > (this.#options.highWaterMark ?? Number.POSITIVE_INFINITY)) {
      this.#overHighWater = true;
      return false;
    }
    return true;
  }

  /** Producer side: no more values. The consumer drains the buffer, then ends (throwing `error` if given). */
  end(error?: Error): void {
    if (this.done) return;
    this.#ended = true;
    this.#error = error;
    this.#wakeUp();
    if (this.#buffer.length === 0 && !this.#iterating) this.#resolveClosed(error);
  }

  /** Consumer side: stop now, dropping whatever is buffered. */
  stop(): void {
    if (this.#stopped) return;
    const wasDone = this.done;
    this.#stopped = true;
    this.#buffer.length = 0;
    this.#weight = 0;
    this.#wakeUp();
    if (!wasDone) this.#options.onStop?.();
    this.#resolveClosed(undefined);
  }

  /**
   * Consumer side, beside the iterator: the oldest buffered value, removed (as the iterator would have
   * taken it), or undefined when none is buffered or iteration stopped. The end comes through the iterator.
   */
  takeBuffered(): T | undefined {
    if (this.#stopped) return undefined;
    const value = this.#take();
    return value.taken ? value.value : undefined;
  }

  async *[Symbol.asyncIterator](): AsyncIterator<T> {
    if (this.#iterating) throw new InvalidUsageError("this iterator is already being iterated");
    this.#iterating = true;
    try {
      while (true) {
        if (this.#stopped) return;
        const value = this.#take();
        if (value.taken) {
          yield value.value;
          continue;
        }
        if (this.#ended) {
          this.#resolveClosed(this.#error);
          if (this.#error) throw this.#error;
          return;
        }
        await new Promise<void>((resolve) => {
          this.#wake = resolve;
        });
      }
    } finally {
      this.#iterating = false;
      // A `break` (or a throw in the loop body) lands here without an end: the consumer is gone.
      if (!this.#ended) this.stop();
    }
  }

  #take(): { taken: true; value: T } | { taken: false } {
    if (this.#buffer.length === 0) return { taken: false };
    const value = this.#buffer.shift() as T;
    this.#weight -= this.#weigh(value);
    if (this.#overHighWater && this.#weight <= (this.#options.lowWaterMark ?? 0)) {
      this.#overHighWater = false;
      this.#options.onDrain?.();
    }
    return { taken: true, value };
  }

  #wakeUp(): void {
    const wake = this.#wake;
    this.#wake = undefined;
    wake?.();
  }
}
