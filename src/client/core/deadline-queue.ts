/** What a deadline calls when it passes; implemented by the calls, so no closure is made per call. */
export interface DeadlineTarget {
  /** Cancels the call with DeadlineExceeded. */
  onDeadline(): void;
}

/** A deadline as {@link DeadlineQueue.add} returns it: pass it to {@link DeadlineQueue.remove} to cancel. */
export interface DeadlineHandle {
  /** When the deadline passes, on the `performance.now()` clock. */
  readonly at: number;
}

/** Node clamps longer timer delays to 1 ms (with a warning); longer deadlines re-arm when this fires. */
const MAX_TIMER_MS = 2_147_483_647;

/** A queued deadline; `index` is its place in the heap (-1 once fired, removed or never queued). */
class Entry implements DeadlineHandle {
  readonly at: number;
  /** Orders entries with the same `at` by when they were added. */
  readonly seq: number;
  readonly target: DeadlineTarget;
  index = -1;

  constructor(at: number, seq: number, target: DeadlineTarget) {
    this.at = at;
    this.seq = seq;
    this.target = target;
  }
}

function earlier(a: Entry, b: Entry): boolean {
  return a.at < b.at || (a.at === b.at && a.seq < b.seq);
}

/**
 * The deadlines of one transport's calls on a single unref'd Node timer, instead of a setTimeout,
 * unref() and clearTimeout per call (about 1 µs of CPU per call, which limits throughput). Deadlines
 * are kept in an indexed binary min-heap: `add` and `remove` are O(log n), and O(1) in the usual case
 * where deadlines of the same length arrive in increasing order.
 *
 * The timer is re-armed only when a new deadline is earlier than the time it is armed for. Removing
 * entries never touches it: a timer that fires with nothing due re-arms for the earliest deadline left
 * (or stays off when none is left), so back-to-back calls cost no timer work at all. Deadlines fire
 * late by at most the timer's granularity (about a millisecond) and never early: a timer that Node
 * fires before the earliest deadline on the `performance.now()` clock is re-armed for the rest.
 *
 * The timer is unref'd: a pending deadline alone does not keep the process alive (the call's stream
 * does, while it runs). {@link close} clears it.
 */
export class DeadlineQueue {
  #heap: Entry[] = [];
  #timer: NodeJS.Timeout | undefined;
  /** The deadline the timer is armed for; +Infinity while it is not armed. */
  #armedAt = Number.POSITIVE_INFINITY;
  #seq = 0;
  #firing = false;
  #closed = false;
  readonly #onTimer = (): void => this.#fire();

  /** Deadlines waiting to pass. */
  get size(): number {
    return this.#heap.length;
  }

  /**
   * Calls `target.onDeadline()` once `ms` milliseconds have passed, unless the returned handle is
   * removed first. A negative or NaN `ms` is due at once (it fires from the timer, never synchronously).
   * After {@link close} the handle is inert: it never fires.
   */
  add(target: DeadlineTarget, ms: number): DeadlineHandle {
    const now = performance.now();
    const entry = new Entry(now + (Number.isNaN(ms) ? 0 : Math.max(ms, 0)), this.#seq++, target);
    if (this.#closed) return entry;
    const heap = this.#heap;
    entry.index = heap.length;
    heap.push(entry);
    this.#siftUp(entry);
    if (entry.at < this.#armedAt && !this.#firing) this.#arm(entry.at, now);
    return entry;
  }

  /** Cancels a deadline: its target is not called. A no-op for one that fired or was removed already. */
  remove(handle: DeadlineHandle): void {
    const entry = handle as Entry;
    const heap = this.#heap;
    const index = entry.index;
    if (index < 0 || heap[index] !== entry) return;
    entry.index = -1;
    const last = heap.pop()!;
    if (last === entry) return;
    heap[index] = last;
    last.index = index;
    this.#siftDown(last);
    if (last.index === index) this.#siftUp(last);
  }

  /** Drops every deadline (none fires any more) and clears the timer; later adds never fire. */
  close(): void {
    this.#closed = true;
    this.#disarm();
    for (const entry of this.#heap) entry.index = -1;
    this.#heap = [];
  }

  #arm(at: number, now: number): void {
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    // Whole milliseconds, rounded up, at least 1: the timer never fires before `at` on its own clock.
    const delay = Math.min(Math.max(Math.ceil(at - now), 1), MAX_TIMER_MS);
    const timer = setTimeout(this.#onTimer, delay);
    timer.unref?.();
    this.#timer = timer;
    this.#armedAt = at;
  }

  #disarm(): void {
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#armedAt = Number.POSITIVE_INFINITY;
  }

  /** The timer fired: fire every deadline that is due, then re-arm for the earliest one left. */
  #fire(): void {
    this.#timer = undefined;
    this.#armedAt = Number.POSITIVE_INFINITY;
    const heap = this.#heap;
    let now = performance.now();
    this.#firing = true;
    try {
      for (;;) {
        const top = heap[0];
        if (top === undefined) break;
        if (top.at > now) {
          // Firing the others took time; one more look at the clock saves a 1 ms timer round.
          now = performance.now();
          if (top.at > now) break;
        }
        this.#removeTop();
        top.target.onDeadline();
      }
    } finally {
      this.#firing = false;
      // `this.#heap`, not `heap`: a target may have closed the queue.
      const next = this.#heap[0];
      if (next !== undefined && this.#timer === undefined) this.#arm(next.at, performance.now());
    }
  }

  #removeTop(): void {
    const heap = this.#heap;
    const top = heap[0]!;
    top.index = -1;
    const last = heap.pop()!;
    if (last === top) return;
    heap[0] = last;
    last.index = 0;
    this.#siftDown(last);
  }

  #siftUp(entry: Entry): void {
    const heap = this.#heap;
    let index = entry.index;
    while (index > 0) {
      const parentIndex = (index - 1) >> 1;
      const parent = heap[parentIndex]!;
      if (!earlier(entry, parent)) break;
      heap[index] = parent;
      parent.index = index;
      index = parentIndex;
    }
    heap[index] = entry;
    entry.index = index;
  }

  #siftDown(entry: Entry): void {
    const heap = this.#heap;
    const length = heap.length;
    let index = entry.index;
    for (;;) {
      const left = 2 * index + 1;
      if (left >= length) break;
      const right = left + 1;
      let child = heap[left]!;
      let childIndex = left;
      if (right < length && earlier(heap[right]!, child)) {
        child = heap[right]!;
        childIndex = right;
      }
      if (!earlier(child, entry)) break;
      heap[index] = child;
      child.index = index;
      index = childIndex;
    }
    heap[index] = entry;
    entry.index = index;
  }
}
