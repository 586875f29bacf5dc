// Bits of `AsyncQueue.#flags`.
/** The producer ended the queue: what is buffered is still read, then the end (or the error). */
const ENDED = 1;
/** The consumer stopped: the buffer was dropped, reads report done. */
const STOPPED = 2;
/** A push put the buffered weight over the high-water mark; `drained()` is owed once it falls to the low one. */
const OVER = 4;

const DONE: IteratorResult<never> = Object.freeze({ done: true, value: undefined });

/**
 * The one async queue of the package: a producer pushes values and finally an end (maybe with an error),
 * a consumer reads them in order. It backs {@link QueuedIterator}, each `Watcher`'s buffer, the HTTP/2
 * transport's stream output and the grpc-js adapter's response stream.
 *
 * - **Never drops a value**: `push` only reports (returns false) that the buffered weight is over the
 *   high-water mark; the producer decides what to do (pause its source). A subclass hears the crossing
 *   in {@link filled} and the fall back to the low-water mark after the consumer took values in
 *   {@link drained}; it weighs values in {@link weigh} (default 1 each).
 * - **Two ways to read**: {@link next} (an `AsyncIterator`'s `next`: the value, the end, or the error
 *   once), or {@link take} plus {@link wait} for a consumer with its own loop (an async generator).
 *   A waiting reader is woken, then takes on its own turn: a value is never taken inside `push`, so the
 *   producer has seen `push`'s answer (and paused) before `drained()` can run.
 * - **Lean**: hooks are methods, not closures, and the buffer holds no promise while nobody waits, so
 *   a watch with a buffer costs one small object (a client may hold 100,000 watches).
 *
 * Values may be `undefined` for `next()`; `take()` cannot tell an `undefined` value from none (check
 * {@link length} first, or never push `undefined`).
 */
export class AsyncQueue<T> {
  /** Made on the first push: a queue only waited on (an idle `for await`) holds no array. */
  #items: T[] | undefined;
  #weight = 0;
  #flags = 0;
  #error: unknown;
  /** Wakes every reader waiting in {@link wait} (one function, chained when several wait). */
  #wake: (() => void) | undefined;
  readonly #high: number;
  readonly #low: number;

  /**
   * @param highWaterMark Buffered weight above which `push` returns false. Default `Infinity` (never).
   * @param lowWaterMark Buffered weight at or below which `drained()` runs after the queue was over the
   *   high-water mark. Default 0 (empty).
   */
  constructor(highWaterMark = Number.POSITIVE_INFINITY, lowWaterMark = 0) {
    this.#high = highWaterMark;
    this.#low = lowWaterMark;
  }

  /** Weight of a buffered value. Default: 1. */
  protected weigh(_value: T): number {
    return 1;
  }

  /** A push put the buffered weight over the high-water mark (once per crossing). Default: nothing. */
  protected filled(): void {}

  /** A take brought the buffered weight to the low-water mark or below after a crossing. Default: nothing. */
  protected drained(): void {}

  /** Number of buffered values. */
  get length(): number {
    return this.#items?.length ?? 0;
  }

  /** Buffered weight not yet taken. */
  get weight(): number {
    return this.#weight;
  }

  /** The producer ended the queue (values may still be buffered). */
  get ended(): boolean {
    return (this.#flags & ENDED) !== 0;
  }

  /** The consumer stopped it. */
  get stopped(): boolean {
    return (this.#flags & STOPPED) !== 0;
  }

  /** True once the producer ended it or the consumer stopped: `push` and `end` are ignored from now on. */
  get done(): boolean {
    return (this.#flags & (ENDED | STOPPED)) !== 0;
  }

  /** A reader waits for the next value or the end. */
  get waiting(): boolean {
    return this.#wake !== undefined;
  }

  /**
   * Producer side: queues a value and wakes a waiting reader. Returns false when the buffered weight is
   * now over the high-water mark (the value is queued anyway), or when the queue is done (the value is
   * ignored).
   */
  push(value: T): boolean {
    if (this.#flags & (ENDED | STOPPED)) return false;
    if (this.#items === undefined) this.#items = [value];
    else this.#items.push(value);
    this.#weight += this.weigh(value);
    this.#wakeUp();
    if (this.#weight > this.#high) {
      if (!(this.#flags & OVER)) {
        this.#flags |= OVER;
        this.filled();
      }
      return false;
    }
    return true;
  }

  /**
   * Producer side: no more values. The reader gets what is buffered, then the end, or `error` (once).
   * Returns false (and changes nothing) when the queue was already done.
   */
  end(error?: unknown): boolean {
    if (this.#flags & (ENDED | STOPPED)) return false;
    this.#flags |= ENDED;
    this.#error = error;
    this.#wakeUp();
    return true;
  }

  /**
   * Consumer side: stop now. Drops what is buffered and the producer's error; reads report done and
   * waiting readers are woken. Returns false when it was stopped already.
   */
  stop(): boolean {
    if (this.#flags & STOPPED) return false;
    this.#flags |= STOPPED;
    this.#items = undefined;
    this.#weight = 0;
    this.#error = undefined;
    this.#wakeUp();
    return true;
  }

  /** Drops what is buffered (the end, or the error, stays to be read). */
  clear(): void {
    this.#items = undefined;
    this.#weight = 0;
  }

  /** The error the producer ended the queue with (kept until {@link takeError} or `stop()`). */
  get error(): unknown {
    return this.#error;
  }

  /** The producer's error, handed out once (then undefined): what a reader throws after the last value. */
  takeError(): unknown {
    const error = this.#error;
    this.#error = undefined;
    return error;
  }

  /** Consumer side: the oldest buffered value, removed, or undefined when none is buffered. */
  take(): T | undefined {
    const items = this.#items;
    if (items === undefined || items.length === 0) return undefined;
    const value = items.shift() as T;
    this.#weight -= this.weigh(value);
    if (this.#flags & OVER && this.#weight <= this.#low) {
      this.#flags &= ~OVER;
      this.drained();
    }
    return value;
  }

  /** Resolves on the next push, end or stop (or at once, when done). Several readers may wait. */
  wait(): Promise<void> {
    if (this.#flags & STOPPED) return Promise.resolve();
    return new Promise((resolve) => {
      const before = this.#wake;
      this.#wake =
        before === undefined
          ? resolve
          : () => {
              before();
              resolve();
            };
    });
  }

  /**
   * Consumer side, as an `AsyncIterator`'s `next`: the next value; once the producer ended and the buffer
   * is empty, its error (once) or done; done after `stop()`. Readers waiting at once are served in order.
   */
  async next(): Promise<IteratorResult<T>> {
    for (;;) {
      if (this.#flags & STOPPED) return DONE;
      if (this.length > 0) return { done: false, value: this.take() as T };
      if (this.#flags & ENDED) {
        const error = this.takeError();
        if (error !== undefined) throw error;
        return DONE;
      }
      await this.wait();
    }
  }

  #wakeUp(): void {
    const wake = this.#wake;
    this.#wake = undefined;
    wake?.();
  }
}
