import { AsyncQueue, InvalidUsageError } from "../client/core/index.js";
/**
 * The output side of a streaming call: the protocol pushes messages and finally an end (or an error);
 * the caller reads them with `for await`. `onPressure(true)` asks the producer to pause once
 * `highWaterMark` messages wait unread, `onPressure(false)` to resume once half of them were read;
 * `onReturn` runs when the reader stops early (break), so the call can be cancelled. The package's one
 * `AsyncQueue` (`src/client/core/async-queue.ts`) underneath.
 */
export class ResponseQueue<T> extends AsyncQueue<T> implements AsyncIterable<T> {
  readonly #onPressure: (paused: boolean) => void;
  readonly #onReturn: () => void;
  #iterated = false;

  constructor(options: {
    highWaterMark?: number | undefined;
    onPressure: (paused: boolean) => void;
    onReturn: () => void;
  }) {
    const highWaterMark = options.highWaterMark ?? 64;
    // Paused at `highWaterMark` messages waiting (the queue's mark is "over"), resumed at half of it.
    super(highWaterMark - 1, highWaterMark / 2);
    this.#onPressure = options.onPressure;
    this.#onReturn = options.onReturn;
  }

  protected override filled(): void {
    this.#onPressure(true);
  }

  protected override drained(): void {
    this.#onPressure(false);
  }

  [Symbol.asyncIterator](): AsyncIterator<T> {
    if (this.#iterated) throw new InvalidUsageError("a response stream can be iterated only once");
    this.#iterated = true;
    return {
      next: () => this.next(),
      return: async (): Promise<IteratorResult<T>> => {
        if (!this.done) this.#onReturn();
        this.stop();
        return { done: true, value: undefined };
      },
    };
  }
}
