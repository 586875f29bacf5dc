/** A call waiting for a free stream. */
export interface SlotWaiter {
  /** Called when the call got its slot and may open its stream. */
  onSlot(): void;
}

/**
 * Counts open streams against a limit and queues the calls above it (a cap makes calls wait, not fail).
 * The limit is read on every acquire, so a lowered SETTINGS_MAX_CONCURRENT_STREAMS applies at once.
 */
export class StreamSlots {
  readonly #limit: () => number;
  #active = 0;
  #queue: SlotWaiter[] = [];

  /** `limit` returns the current number of concurrent streams allowed. */
  constructor(limit: () => number) {
    this.#limit = limit;
  }

  /** Streams open (or being opened) now. */
  get active(): number {
    return this.#active;
  }

  /** Calls waiting for a slot. */
  get waiting(): number {
    return this.#queue.length;
  }

  /** Takes a slot when one is free (the fast path, no allocation); false means: enqueue. */
  tryAcquire(): boolean {
    if (this.#queue.length === 0 && this.#active < this.#limit()) {
      this.#active++;
      return true;
    }
    return false;
  }

  /** Queues a call; it gets `onSlot()` once a slot frees up. */
  enqueue(waiter: SlotWaiter): void {
    this.#queue.push(waiter);
  }

  /** Takes a waiting call out of the queue (it was cancelled); false when it was not queued. */
  remove(waiter: SlotWaiter): boolean {
    const index = this.#queue.indexOf(waiter);
    if (index < 0) return false;
    this.#queue.splice(index, 1);
    return true;
  }

  /** Gives a slot back and starts waiting calls that now fit. */
  release(): void {
    this.#active--;
    this.pump();
  }

  /** Starts waiting calls while slots are free (also after the limit was raised). */
  pump(): void {
    while (this.#queue.length > 0 && this.#active < this.#limit()) {
      this.#active++;
      this.#queue.shift()!.onSlot();
    }
  }

  /**
   * Empties the queue and returns the calls that were waiting, each counted as holding a slot (for
   * `close()`: their `onSlot()` fails them and gives the slot back, so the count stays balanced).
   */
  drain(): SlotWaiter[] {
    const waiting = this.#queue;
    this.#queue = [];
    this.#active += waiting.length;
    return waiting;
  }
}
