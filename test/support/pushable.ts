/** An async iterable the test pushes into: the request side of a bidi stream. `end()` half-closes it. */
export class Pushable<T> implements AsyncIterable<T> {
  readonly #items: T[] = [];
  #ended = false;
  #wake: (() => void) | undefined;

  /** Queues a message for the stream. */
  push(item: T): void {
    this.#items.push(item);
    this.#notify();
  }

  /** Ends the iterable (the call half-closes once the queued messages are sent). */
  end(): void {
    this.#ended = true;
    this.#notify();
  }

  async *[Symbol.asyncIterator](): AsyncIterator<T> {
    for (;;) {
      const item = this.#items.shift();
      if (item !== undefined) {
        yield item;
        continue;
      }
      if (this.#ended) return;
      await new Promise<void>((resolve) => {
        this.#wake = resolve;
      });
    }
  }

  #notify(): void {
    const wake = this.#wake;
    this.#wake = undefined;
    wake?.();
  }
}
