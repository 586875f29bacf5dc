/** One `waitForRevision` caller. */
interface Waiter {
  readonly revision: bigint;
  readonly resolve: (revision: bigint) => void;
  readonly reject: (error: Error) => void;
  readonly signal: AbortSignal | undefined;
  readonly onAbort: (() => void) | undefined;
}

/**
 * Callers waiting for a revision, kept in revision order: a revision reached settles the ones at the
 * front and looks no further, so applying an update costs nothing more while nobody waits for it.
 */
export class RevisionWaiters {
  readonly #waiting: Waiter[] = [];

  /** Callers still waiting. */
  get size(): number {
    return this.#waiting.length;
  }

  /** The lowest revision a caller waits for, if any. */
  get lowest(): bigint | undefined {
    return this.#waiting[0]?.revision;
  }

  /**
   * Resolves with the revision reached once {@link reached} passes `revision`; rejects with the signal's
   * reason when `signal` aborts first (the waiter is forgotten then), or with the error of {@link fail}.
   */
  wait(revision: bigint, signal?: AbortSignal): Promise<bigint> {
    if (signal?.aborted) return Promise.reject(signal.reason);
    return new Promise<bigint>((resolve, reject) => {
      const onAbort = signal ? () => this.#abort(waiter) : undefined;
      const waiter: Waiter = { revision, resolve, reject, signal, onAbort };
      if (onAbort) signal!.addEventListener("abort", onAbort, { once: true });
      const list = this.#waiting;
      let at = list.length;
      while (at > 0 && list[at - 1]!.revision > revision) at--;
      list.splice(at, 0, waiter);
    });
  }

  /** The cache has applied `revision`: every caller waiting for it or an older one is resolved. */
  reached(revision: bigint): void {
    const list = this.#waiting;
    let n = 0;
    while (n < list.length && list[n]!.revision <= revision) n++;
    if (n === 0) return;
    for (const waiter of list.splice(0, n)) {
      waiter.signal?.removeEventListener("abort", waiter.onAbort!);
      waiter.resolve(revision);
    }
  }

  /** Rejects every caller with `error` (the cache ended). */
  fail(error: Error): void {
    for (const waiter of this.#waiting.splice(0)) {
      waiter.signal?.removeEventListener("abort", waiter.onAbort!);
      waiter.reject(error);
    }
  }

  #abort(waiter: Waiter): void {
    const at = this.#waiting.indexOf(waiter);
    if (at < 0) return;
    this.#waiting.splice(at, 1);
    waiter.reject(waiter.signal!.reason);
  }
}
