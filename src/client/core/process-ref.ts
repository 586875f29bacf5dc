/** Releases one reference; calling it again does nothing. */
export type RefRelease = () => void;

/** Longest delay a Node timer takes (about 24.8 days). */
const MAX_TIMER_MS = 2 ** 31 - 1;

/**
 * Keeps the process alive while anything the user holds open needs it: a watch, a kept-alive lease,
 * a registration, a discovery. Named for Node's `ref()`: the one ref'd handle of a client (not a
 * "hold", the word of a lock's or a leadership's hold). One ref'd timer while at least one reference is
 * out, none otherwise, so a
 * process whose only work is a watch lives through disconnects and backoff (when every socket and
 * timer of the client is idle or unref'd), and a process that closed everything exits on its own.
 * Every other timer of the client may then be unref'd. Web-standard timers only (Bun, Deno).
 */
export class ProcessRef {
  #count = 0;
  #timer: ReturnType<typeof setInterval> | undefined;

  /** Open things currently keeping the process alive (for tests and diagnostics). */
  get count(): number {
    return this.#count;
  }

  /** Takes a reference; the process stays alive until every reference is released. */
  acquire(): RefRelease {
    if (this.#count++ === 0) this.#timer = setInterval(noop, MAX_TIMER_MS);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      if (--this.#count === 0) {
        clearInterval(this.#timer);
        this.#timer = undefined;
      }
    };
  }
}

function noop(): void {}
