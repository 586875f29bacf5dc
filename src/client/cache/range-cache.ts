import { AuthFailedError, ClosedError, InvalidArgumentError, InvalidUsageError } from "../core/errors.js";
import { EventEmitter } from "../core/event-emitter.js";
import { Lifecycle } from "../core/lifecycle.js";
import { QueuedIterator } from "../core/queued-iterator.js";
import { waitSignal } from "../core/signals.js";
import { checkInteger, checkKey, checkOptionsObject, checkSignal } from "../core/validation.js";
import { broken, done, follow, readAt } from "../follow/follow.js";
import { type Bytes, toBytes } from "../kv/bytes.js";
import type { KeyValue } from "../kv/key-value.js";
import { rangeBounds } from "../kv/requests.js";
import type { KeyRange, RangeResult } from "../kv/types.js";
import type { WatchBatch, WatchEvent, WatcherState } from "../watch/types.js";
import type { Watcher } from "../watch/watcher.js";
import { toByteString } from "./byte-string.js";
import { RangeCacheClosedError } from "./errors.js";
import { type ByteRange, byteRange, covers, holds } from "./key-bounds.js";
import { diffEntries } from "./resync-diff.js";
import { RevisionWaiters } from "./revision-waiters.js";
import { SortedEntries } from "./sorted-entries.js";
import type {
  CacheChange,
  CacheRangeOptions,
  CacheSource,
  LinearizableReadOptions,
  RangeCacheEvents,
  RangeCacheOptions,
  RangeCacheState,
} from "./types.js";

/** Options of {@link RangeCache.waitForRevision}. */
export interface WaitForRevisionOptions {
  /** Aborting it rejects the wait with an `AbortedError`. Default none. */
  signal?: AbortSignal | undefined;
  /** Rejects the wait with a `DeadlineExceededError` after this long, ms. Default: no limit. */
  timeoutMs?: number | undefined;
}

/**
 * A consistent in-memory mirror of a key range: the range read at revision R (paged, at that one
 * revision), then a watch from R + 1, so that the content always equals the range as etcd held it at
 * {@link RangeCache.revision}. The watch resumes after any break without loss or duplicate; after a compaction it
 * could not resume across, the range is read again and the differences are applied (and reported as a
 * `resync` change). Reads (`get`, `range`) are answered from memory. Create it with `etcd.cache(range)`.
 *
 * Memory: keys and values are kept as byte strings, the revisions in typed arrays, in sorted leaves of
 * 128 entries: no object or closure per entry (see docs/cache.md for the figures).
 *
 * A live object (docs/client.md): `state`, `closed`, `signal`, `close()`, the `state` and `close` events.
 * While open it holds the process (as a watch does); closed, it holds nothing and drops its content.
 */
export class RangeCache
  extends EventEmitter<RangeCacheEvents>
  implements AsyncIterable<CacheChange>, AsyncDisposable
{
  readonly #etcd: CacheSource;
  /** The range as requests name it. */
  readonly #key: Uint8Array;
  readonly #rangeEnd: Uint8Array;
  readonly #range: ByteRange;
  readonly #pageSize: number;
  readonly #life = new Lifecycle<Exclude<RangeCacheState, "closed">>(this, "cache", "connecting");
  /** Aborted at the end: stops reads in flight, the watch and the backoff. */
  readonly #stop = new AbortController();
  readonly #waiters = new RevisionWaiters();
  readonly #subscribers = new Set<QueuedIterator<CacheChange>>();
  /** Linearizable reads waiting for a revision, told when an incomplete progress notice passed it. */
  readonly #unconfirmed = new Set<{ revision: bigint; settle: (value: false) => void }>();
  readonly #ready: Promise<void>;
  #resolveReady!: () => void;
  #rejectReady!: (error: Error) => void;
  #isReady = false;
  #entries = new SortedEntries();
  #revision = 0n;
  #watcher: Watcher | undefined;
  /** Ends the hold on the process and the client-close hook. */
  readonly #detach: () => void;
  readonly #userSignal: AbortSignal | undefined;
  readonly #retryAuthFailures: boolean;
  /** The run loop; settles (never rejects) once the cache let go of everything. */
  readonly #finished: Promise<void>;

  /**
   * @internal Use `etcd.cache(range, options)`. `retryAuthFailures`: an `AuthFailedError` is reported as
   * `unavailable` and retried like any failure instead of ending the cache (a discovery's view must go on
   * until this process closes it).
   */
  constructor(
    etcd: CacheSource,
    range: Bytes | KeyRange,
    options: RangeCacheOptions = {},
    retryAuthFailures = false,
  ) {
    super();
    this.#retryAuthFailures = retryAuthFailures;
    checkOptionsObject(options);
    // Before anything is attached: a bad signal must not leave a half-made cache on the client.
    checkSignal(options.signal);
    const bounds = rangeBounds(range);
    this.#etcd = etcd;
    this.#key = bounds.key.slice();
    this.#rangeEnd = bounds.rangeEnd.slice();
    this.#range = byteRange(range);
    this.#pageSize = Number(checkInteger(options.pageSize ?? 1000, "pageSize", 1));
    this.#ready = new Promise((resolve, reject) => {
      this.#resolveReady = resolve;
      this.#rejectReady = reject;
    });
    // Nobody has to await `ready`: a cache closed before its first read must not be an unhandled rejection.
    this.#ready.catch(() => {});
    // Holds the process until closed; a client closed first closes the cache with it.
    this.#detach = etcd._attach(() => this.#end(undefined));
    this.#userSignal = options.signal;
    if (options.signal?.aborted) {
      this.#end(undefined);
      this.#finished = Promise.resolve();
      return;
    }
    options.signal?.addEventListener("abort", this.#onAbort, { once: true });
    this.#finished = this.#run();
  }

  readonly #onAbort = () => this.#end(undefined);

  /** Resolves once the range was first read; rejects (with the error, or a `RangeCacheClosedError`) if the cache ends before. */
  get ready(): Promise<void> {
    return this.#ready;
  }

  /** The revision the content is at: it equals the range as etcd held it at this revision. 0n before `ready`. */
  get revision(): bigint {
    return this.#revision;
  }

  /** Number of keys held. */
  get size(): number {
    return this.#entries.size;
  }

  /** Where the cache is (see {@link RangeCacheState}). */
  get state(): RangeCacheState {
    return this.#life.state;
  }

  /** Settles once, when the cache ends: `undefined` when this process closed it (or its client), else the error. Never rejects. */
  get closed(): Promise<Error | undefined> {
    return this.#life.closed;
  }

  /** Aborted when the cache ends; the reason is its error, or a `ClosedError`. */
  get signal(): AbortSignal {
    return this.#life.signal;
  }

  /**
   * The entry of `key` as the cache holds it (a `KeyValue` with bytes of its own), or undefined. Throws
   * `InvalidArgumentError` for a key outside the cached range, `InvalidUsageError` before `ready`, a
   * `RangeCacheClosedError` once closed. With `{ linearizable: true }` see {@link RangeCache.range}.
   */
  get(key: Bytes, options: LinearizableReadOptions): Promise<KeyValue | undefined>;
  get(key: Bytes): KeyValue | undefined;
  get(key: Bytes, options?: LinearizableReadOptions): KeyValue | undefined | Promise<KeyValue | undefined> {
    if (options === undefined) this.#checkReadable();
    else checkLinearizable(options);
    const k = toByteString(checkKey(toBytes(key)));
    if (!holds(this.#range, k)) throw new InvalidArgumentError("key", "is outside the cached range");
    if (options === undefined) return this.#entries.get(k);
    return this.#readLinearizable(
      options,
      () => this.#entries.get(k),
      async (call) => (await this.#etcd.range(key, { ...call, limit: 1 })).kvs[0],
    );
  }

  /**
   * The keys of `range` (spelled as reads spell it) in key order, as `etcd.range()` returns them, with the
   * cache's revision. The range must lie inside the cached one (else `InvalidArgumentError`); same
   * `InvalidUsageError` / `RangeCacheClosedError` as {@link get}.
   *
   * With `{ linearizable: true }` (also on {@link get}) it resolves instead, once the cache has seen the
   * cluster's current revision: it asks etcd for that revision (a linearizable count-only read of one
   * key), then waits until the cache applied it (`waitForRevision`: on a quiet range a progress request
   * confirms it, asked again while etcd drops it), and answers from memory. The answer then holds every
   * write acknowledged before the call, as `etcd.range()`'s would (Go's `cache` module does the same).
   * Where the server cannot confirm a quiet range (its progress notices are not complete: etcd before
   * 3.4.24 and 3.5.8) the read is answered by etcd itself. Waits for `ready`; rejects with an
   * `AbortedError` or `DeadlineExceededError` (`signal`, `timeoutMs`), the read's error, or when the
   * cache ends first.
   */
  range(range: Bytes | KeyRange, options: CacheRangeOptions & LinearizableReadOptions): Promise<RangeResult>;
  range(range: Bytes | KeyRange, options?: CacheRangeOptions): RangeResult;
  range(
    range: Bytes | KeyRange,
    options: CacheRangeOptions & Partial<LinearizableReadOptions> = {},
  ): RangeResult | Promise<RangeResult> {
    checkOptionsObject(options, "options", false);
    const now = options.linearizable === undefined;
    if (now) this.#checkReadable();
    else checkLinearizable(options);
    const wanted = byteRange(range);
    if (!covers(this.#range, wanted)) throw new InvalidArgumentError("range", "is outside the cached range");
    const limit = Number(checkInteger(options.limit ?? 0, "limit"));
    if (now) return this.#rangeNow(wanted, limit);
    return this.#readLinearizable(
      options as LinearizableReadOptions,
      () => this.#rangeNow(wanted, limit),
      (call) => this.#etcd.range(range, { ...call, limit }),
    );
  }

  #rangeNow(wanted: ByteRange, limit: number): RangeResult {
    const kvs: KeyValue[] = [];
    let count = 0;
    for (const c = this.#entries.cursor(wanted.start); !c.done; c.next()) {
      if (wanted.end !== undefined && c.key >= wanted.end) break;
      if (limit === 0 || kvs.length < limit) kvs.push(c.keyValue());
      count++;
    }
    return { revision: this.#revision, kvs, count: BigInt(count), more: count > kvs.length };
  }

  /**
   * A linearizable read: the cluster's current revision (a count-only read of the range's first key),
   * then the wait until the cache applied it, then `fromMemory`; `fromEtcd` where the server cannot
   * confirm a quiet range.
   */
  async #readLinearizable<T>(
    options: LinearizableReadOptions,
    fromMemory: () => T,
    fromEtcd: (call: { signal: AbortSignal }) => Promise<T>,
  ): Promise<T> {
    const wait = waitSignal("linearizable read", options.signal, options.timeoutMs);
    try {
      await this.waitForRevision(1, { signal: wait.signal });
      const { revision } = await this.#etcd.range(this.#key, { countOnly: true, signal: wait.signal });
      if (this.#revision < revision && !(await this.#confirm(revision, wait.signal)))
        return await fromEtcd({ signal: wait.signal });
      if (this.#life.ended) throw this.#endError();
      return fromMemory();
    } catch (err) {
      return wait.rethrow(err);
    } finally {
      wait.dispose();
    }
  }

  /**
   * Waits until the cache applied `revision`: true then; false when a progress notice at or past it came
   * that the server does not promise complete (etcd issue 15220), so that a quiet range cannot be confirmed.
   */
  async #confirm(revision: bigint, signal: AbortSignal): Promise<boolean> {
    let unconfirmable!: (value: false) => void;
    const entry = { revision, settle: (value: false) => unconfirmable(value) };
    const refused = new Promise<false>((resolve) => {
      unconfirmable = resolve;
    });
    this.#unconfirmed.add(entry);
    try {
      return await Promise.race([this.waitForRevision(revision, { signal }).then(() => true), refused]);
    } finally {
      this.#unconfirmed.delete(entry);
    }
  }

  /**
   * Resolves once the cache has applied `revision` (its {@link RangeCache.revision} is at least that), e.g. the
   * revision of a write into the range: the cache then holds that write (read-your-writes). Resolves with
   * the cache's revision. A revision whose write did not touch the range is confirmed by a progress
   * request on servers whose progress notices are complete (etcd 3.4.24+, 3.5.8+, 3.6, 3.7; asked again
   * while etcd drops it); on older ones, and for a revision not written yet when the server answered, it
   * is passed with the range's next change. Rejects with an `AbortedError` or `DeadlineExceededError`
   * (options), or when the cache ends first (its error, or a `RangeCacheClosedError`).
   */
  waitForRevision(revision: number | bigint, options: WaitForRevisionOptions = {}): Promise<bigint> {
    let wanted: bigint;
    try {
      wanted = checkInteger(revision, "revision");
    } catch (err) {
      return Promise.reject(err);
    }
    if (this.#life.ended) return Promise.reject(this.#endError());
    if (this.#isReady && this.#revision >= wanted) return Promise.resolve(this.#revision);
    // The write may be outside the range: a complete progress notice tells (see #apply).
    if (this.#watcher?.state === "active") this.#etcd.requestWatchProgress();
    if (options.signal === undefined && options.timeoutMs === undefined) return this.#waiters.wait(wanted);
    const wait = waitSignal("waitForRevision", options.signal, options.timeoutMs);
    return this.#waiters.wait(wanted, wait.signal).finally(() => wait.dispose());
  }

  /** Closes the cache: the watch is canceled, the content dropped, iterators end. Idempotent; never rejects. */
  close(): Promise<void> {
    this.#end(undefined);
    return this.#finished;
  }

  /** Same as `close()`, for `await using`. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  /**
   * The changes from now on (the content at the time of this call is what `range()` returns now). Ends
   * when the cache ends: cleanly when closed by this process, else by throwing its error. A loop that
   * falls behind buffers the changes it has not taken.
   */
  [Symbol.asyncIterator](): AsyncIterator<CacheChange> {
    const queue = new QueuedIterator<CacheChange>({
      weigh: (change) => change.events.length,
      onStop: () => this.#subscribers.delete(queue),
    });
    if (this.#life.ended) queue.end(this.#life.error);
    else this.#subscribers.add(queue);
    return queue[Symbol.asyncIterator]();
  }

  /**
   * Read, then watch (the one follower); when either fails, report it and start over (read, apply the
   * differences, watch) with backoff. Ends when the cache ends, or on an error retrying cannot fix (wrong
   * credentials, unless the owner asked to retry those too).
   */
  async #run(): Promise<void> {
    await follow<undefined>(
      {
        read: async (signal) => readAt(await this.#load(signal)),
        watch: async (from, signal) => {
          const error = await this.#follow(from, signal);
          // A watch ends without an error only when its client closes (which closes the cache too).
          return error === undefined ? done(undefined) : broken(error);
        },
        failed: (error) => !this.#failed(error),
      },
      { signal: this.#stop.signal },
    );
  }

  /**
   * Reads the whole range at one revision (as `iterate()` does: a first page, then a RangeStream on etcd
   * >= 3.7 or pages); installs it (the first time) or applies the differences.
   */
  async #load(signal: AbortSignal): Promise<bigint> {
    this.#life.set("connecting");
    const next = new SortedEntries();
    const scan = this.#etcd._scan(
      this.#rangeEnd.length === 0 ? this.#key : { key: this.#key, end: this.#rangeEnd },
      { pageSize: this.#pageSize, signal },
    );
    let batch = await scan.next();
    for (; !batch.done; batch = await scan.next()) putAll(next, batch.value);
    // The revision of the first request: the store's revision then, which every key was read at.
    const revision = batch.value;
    if (signal.aborted) return revision;
    if (this.#isReady) this.#replace(next, revision);
    else {
      this.#entries = next;
      this.#revision = revision;
      this.#isReady = true;
      this.#resolveReady();
      this.#waiters.reached(revision);
    }
    return revision;
  }

  /** Watches from `from`, applying every batch; returns how the watch ended (undefined: cleanly). */
  async #follow(from: bigint, signal: AbortSignal): Promise<Error | undefined> {
    const watcher = this.#etcd.watch(
      this.#rangeEnd.length === 0 ? this.#key : { key: this.#key, end: this.#rangeEnd },
      { startRevision: from, onCompacted: "resync", signal },
    );
    this.#watcher = watcher;
    watcher.on("state", this.#onWatchState);
    // The event face: batches are applied as they are emitted, without a promise per batch.
    watcher.on("batch", this.#onBatch);
    const error = await watcher.closed;
    watcher.off("state", this.#onWatchState);
    watcher.off("batch", this.#onBatch);
    this.#watcher = undefined;
    return error;
  }

  readonly #onBatch = (batch: WatchBatch) => this.#apply(batch);

  readonly #onWatchState = (state: WatcherState) => {
    if (state === "active") {
      this.#life.set("live");
      // Callers that waited while the watch was being (re-)created get their progress request now.
      const lowest = this.#waiters.lowest;
      if (lowest !== undefined && lowest > this.#revision) this.#etcd.requestWatchProgress();
    } else if (
      state === "creating" ||
      state === "disconnected" ||
      state === "paused" ||
      state === "resyncing"
    )
      this.#life.set("connecting");
  };

  /** Applies one watch batch: events in order, or a resync's whole range. Progress notices move nothing. */
  #apply(batch: WatchBatch): void {
    if (batch.resync) {
      const next = new SortedEntries();
      putAll(next, batch.resync);
      this.#replace(next, batch.revision);
      return;
    }
    const events = batch.events;
    if (events.length === 0) {
      // Nothing of the range changed up to a progress notice's revision, but only a complete notice
      // promises that no older event is still on its way (etcd issue 15220, docs/leases-and-watches.md).
      if (batch.progressComplete && batch.revision > this.#revision)
        this.#advance(batch.revision, undefined, false);
      else if (batch.progress && !batch.progressComplete)
        for (const read of this.#unconfirmed) if (read.revision <= batch.revision) read.settle(false);
      // A linearizable read waits for a revision that exists: a notice from before it (the answer to an
      // earlier request) is asked again, once per notice, so that the read is not left to the next change.
      if (
        batch.progress &&
        this.#unconfirmed.size > 0 &&
        [...this.#unconfirmed].some((read) => read.revision > batch.revision)
      )
        this.#etcd.requestWatchProgress();
      return;
    }
    const entries = this.#entries;
    const reported = this.#reporting() ? new Array<WatchEvent>(events.length) : undefined;
    let revision = this.#revision;
    for (let i = 0; i < events.length; i++) {
      const event = events[i]!;
      const kv = event.kv;
      const key = toByteString(kv.key);
      const prevKv = reported ? entries.get(key) : undefined;
      if (event.type === "put")
        entries.set(key, toByteString(kv.value), kv.createRevision, kv.modRevision, kv.version, kv.lease);
      else entries.delete(key);
      if (kv.modRevision > revision) revision = kv.modRevision;
      if (reported) reported[i] = prevKv ? { type: event.type, kv, prevKv } : { type: event.type, kv };
    }
    this.#advance(revision, reported, false);
  }

  /** Swaps in `next`, the range as read at `revision`, reporting the differences. */
  #replace(next: SortedEntries, revision: bigint): void {
    const reported = this.#reporting() ? diffEntries(this.#entries, next, revision) : undefined;
    this.#entries = next;
    this.#advance(revision, reported, true);
  }

  /** The content is now at `revision`: tell listeners, iterators and waiters. */
  #advance(revision: bigint, events: WatchEvent[] | undefined, resync: boolean): void {
    this.#revision = revision;
    if (events !== undefined && events.length > 0) {
      const change: CacheChange = { revision, events, resync };
      for (const queue of this.#subscribers) queue.push(change);
      try {
        this.emit("change", change);
      } catch (err) {
        // A listener's exception is the listener's: it must not break the cache's bookkeeping, nor vanish.
        queueMicrotask(() => {
          throw err;
        });
      }
    }
    this.#waiters.reached(revision);
  }

  /** True when someone receives changes: only then are events (with `prevKv`) built. */
  #reporting(): boolean {
    return this.#subscribers.size > 0 || this.listenerCount("change") > 0;
  }

  /** Handles a failed read or watch: true when the cache ended with it, false when it is retried. */
  #failed(error: unknown): boolean {
    const err = error instanceof Error ? error : new Error(String(error));
    // A client closed first has closed the cache already (its hook); wrong credentials stay wrong.
    if (err instanceof ClosedError) {
      this.#end(undefined);
      return true;
    }
    if (err instanceof AuthFailedError && !this.#retryAuthFailures) {
      this.#end(err);
      return true;
    }
    this.#life.set("unavailable");
    this.emit("unavailable", err);
    return false;
  }

  #checkReadable(): void {
    if (this.#life.ended) throw this.#endError();
    if (!this.#isReady) throw new InvalidUsageError("the cache is not ready yet: await cache.ready first");
  }

  #endError(): Error {
    return this.#life.error ?? new RangeCacheClosedError();
  }

  /** Ends the cache (once): releases the hold, the watch and the content; settles everything waiting. */
  #end(error: Error | undefined): void {
    if (!this.#life.end(error)) return;
    this.#detach();
    this.#userSignal?.removeEventListener("abort", this.#onAbort);
    this.#stop.abort();
    void this.#watcher?.close();
    this.#entries = new SortedEntries();
    const reason = error ?? new RangeCacheClosedError();
    if (!this.#isReady) this.#rejectReady(reason);
    this.#waiters.fail(reason);
    for (const queue of this.#subscribers) queue.end(error);
    this.#subscribers.clear();
  }
}

/** Checks the options of a linearizable read (`InvalidArgumentError` naming what is wrong). */
function checkLinearizable(options: Partial<LinearizableReadOptions>): void {
  checkOptionsObject(options, "options", false);
  if (options.linearizable !== true)
    throw new InvalidArgumentError(
      "linearizable",
      "must be true (leave the options out for a read from memory at the cache's revision)",
    );
}

/** Puts key-values read from etcd into `store`. */
function putAll(store: SortedEntries, kvs: readonly KeyValue[]): void {
  for (const kv of kvs)
    store.set(
      toByteString(kv.key),
      toByteString(kv.value),
      kv.createRevision,
      kv.modRevision,
      kv.version,
      kv.lease,
    );
}
