import { InvalidUsageError } from "../client/core/index.js";
/**
 * The output side of a streaming call: the protocol pushes messages and finally an end (or an error);
 * the caller reads them with `for await`. `onPressure(true)` asks the producer to pause once
 * `highWaterMark` messages wait unread, `onPressure(false)` to resume; `onReturn` runs when the reader
 * stops early (break), so the call can be cancelled.
 */
export class ResponseQueue<T> implements AsyncIterable<T> {
  readonly #items: T[] = [];
  readonly #highWaterMark: number;
  readonly #onPressure: (paused: boolean) => void;
  readonly #onReturn: () => void;
  #ended = false;
  #error: unknown;
  #paused = false;
  #wake: (() => void) | undefined;
  #iterated = false;

  constructor(options: {
    highWaterMark?: number | undefined;
    onPressure: (paused: boolean) => void;
    onReturn: () => void;
  }) {
    this.#highWaterMark = options.highWaterMark ?? 64;
    this.#onPressure = options.onPressure;
    this.#onReturn = options.onReturn;
  }

  /** Adds a received message. */
  push(item: T): void {
    if (this.#ended) return;
    this.#items.push(item);
    if (!this.#paused && this.#items.length >= this.#highWaterMark) {
      this.#paused = true;
      this.#onPressure(true);
    }
    this.#notify();
  }

  /** Ends the stream; with `error`, the reader gets it after the messages already queued. */
  end(error?: unknown): void {
    if (this.#ended) return;
    this.#ended = true;
    this.#error = error;
    this.#notify();
  }

  [Symbol.asyncIterator](): AsyncIterator<T> {
    if (this.#iterated) throw new InvalidUsageError("a response stream can be iterated only once");
    this.#iterated = true;
    return {
      next: async (): Promise<IteratorResult<T>> => {
        for (;;) {
          const item = this.#items.shift();
          if (item !== undefined) {
            if (this.#paused && this.#items.length <= this.#highWaterMark / 2) {
              this.#paused = false;
              this.#onPressure(false);
            }
            return { done: false, value: item };
          }
          if (this.#ended) {
            if (this.#error !== undefined) {
              const error = this.#error;
              this.#error = undefined;
              throw error;
            }
            return { done: true, value: undefined };
          }
          await new Promise<void>((resolve) => {
            this.#wake = resolve;
          });
        }
      },
      return: async (): Promise<IteratorResult<T>> => {
        if (!this.#ended) this.#onReturn();
        this.#ended = true;
        this.#items.length = 0;
        this.#error = undefined;
        return { done: true, value: undefined };
      },
    };
  }

  #notify(): void {
    const wake = this.#wake;
    this.#wake = undefined;
    wake?.();
  }
}
