import { afterThisTurn, InvalidUsageError } from "../client/core/index.js";

/**
 * One `for await` over a discovery's snapshots. A change only marks the feed stale; the snapshot is
 * built when the loop takes it, so changes cost O(1) whatever the size of the view, changes that come
 * faster than the loop runs are folded into the newest snapshot, and a slow loop holds one snapshot,
 * not one per change. A waiting loop gets its snapshot after the current turn of the event loop
 * (`afterThisTurn`: `setImmediate` where there is one), so a burst of changes read in one turn (many watch responses in one read) makes one
 * snapshot.
 */
export class SnapshotFeed<T> implements AsyncIterableIterator<T> {
  readonly #take: () => T;
  readonly #onStop: () => void;
  #stale: boolean;
  #ended = false;
  #scheduled = false;
  #waiting: ((result: IteratorResult<T>) => void) | undefined;

  /** `take` builds a snapshot; `onStop` runs once when the loop stops early; `stale`: one is due now. */
  constructor(take: () => T, onStop: () => void, stale: boolean) {
    this.#take = take;
    this.#onStop = onStop;
    this.#stale = stale;
  }

  /** The view changed: the loop gets a fresh snapshot (now if it waits, else when it next asks). */
  changed(): void {
    if (this.#ended) return;
    this.#stale = true;
    if (this.#waiting && !this.#scheduled) {
      this.#scheduled = true;
      afterThisTurn(() => this.#deliver());
    }
  }

  /** No more snapshots: a waiting loop ends now, a running one after its current snapshot. */
  end(): void {
    if (this.#ended) return;
    this.#ended = true;
    this.#stale = false;
    const waiting = this.#waiting;
    this.#waiting = undefined;
    waiting?.({ value: undefined, done: true });
  }

  next(): Promise<IteratorResult<T>> {
    if (this.#waiting) return Promise.reject(new InvalidUsageError("a snapshot is already awaited"));
    if (this.#stale) {
      this.#stale = false;
      return Promise.resolve({ value: this.#take(), done: false });
    }
    if (this.#ended) return Promise.resolve({ value: undefined, done: true });
    return new Promise((resolve) => {
      this.#waiting = resolve;
    });
  }

  /** The loop stopped (`break`, a throw): the feed ends and is forgotten. */
  return(): Promise<IteratorResult<T>> {
    if (!this.#ended) {
      this.end();
      this.#onStop();
    }
    return Promise.resolve({ value: undefined, done: true });
  }

  [Symbol.asyncIterator](): this {
    return this;
  }

  #deliver(): void {
    this.#scheduled = false;
    const waiting = this.#waiting;
    if (!waiting || !this.#stale) return;
    this.#waiting = undefined;
    this.#stale = false;
    waiting({ value: this.#take(), done: false });
  }
}
