import type { Event, KeyValue as KeyValuePb } from "../../gen/mvccpb/kv_pb.js";
import { AsyncQueue } from "../core/async-queue.js";
import { ClosedError, InvalidUsageError } from "../core/errors.js";
import { EventEmitter } from "../core/event-emitter.js";
import { wrapAll } from "../kv/key-value.js";
import type { Namespace } from "../namespace/namespace.js";
import { WatchClosedError } from "./errors.js";
import { type PackedRange, packedKey, packedRangeEnd } from "./key-range.js";
import { dropSeen, nextAfterCreated, nextAfterEvents } from "./resume.js";
import type { WatchBatch, WatcherState, WatchOptions } from "./types.js";

/**
 * A watch was re-created on a new stream (after a break, a token refresh, or a pause for backpressure)
 * from its own resume point (`etcd-ts:watch:resume`).
 */
export interface WatchResumeEvent {
  /** The endpoint of the stream it resumed on. */
  readonly endpoint: string;
  /** The first revision it asked for: every revision before it was delivered already. */
  readonly revision: bigint;
  /** The watch. */
  readonly watcher: Watcher;
}

/** Events of a {@link Watcher}'s event-emitter face. */
export interface WatcherEvents {
  /** A batch of events (or a progress / resync batch). */
  batch: [WatchBatch];
  /**
   * The watch is over, after its last batch: with its error, or `undefined` when this process closed it
   * (`close()`, its `signal`, the client closing). Emitted once; the same value as `closed`.
   */
  close: [Error | undefined];
  /** The watch moved to another state (see {@link WatcherState}); emitted from a microtask. */
  state: [WatcherState];
}

/** What a {@link Watcher} asks of the hub that owns it. */
export interface WatcherOwner {
  /** The consumer is gone or closed the watch: cancel it on the server. */
  detach(watcher: Watcher): void;
  /** The consumer drained a paused watch: create it again from its resume point. */
  resume(watcher: Watcher): void;
}

/**
 * A watch as its hub drives it: the hub reads `state`, `nextRevision`, the range and the options, and
 * changes the watch's protocol state only through these transitions (never by writing its fields).
 * Each names one step of the state model in docs/leases-and-watches.md.
 * @internal
 */
export interface HubWatcher {
  /** Where the watch is. */
  readonly state: WatcherState;
  /** The first revision not yet delivered (the resume point); undefined = from now. */
  readonly nextRevision: bigint | undefined;
  /** The watched key as sent to etcd. */
  readonly key: Uint8Array;
  /** The watched range end as sent to etcd (empty for one key). */
  readonly rangeEnd: Uint8Array;
  /** The options the watch was made with. */
  readonly options: Readonly<WatchOptions>;
  /** `disconnected` → `creating`: its create is queued. False (nothing changes) in any other state. */
  _queue(): boolean;
  /** The stream it was created or active on ended: `creating`/`active` → `disconnected`, its id forgotten. */
  _lostStream(): void;
  /**
   * The server created it as `watchId`, answering with `headerRevision`: `active`, its resume point set
   * (from now: `headerRevision` + 1), `created` resolved the first time.
   */
  _activate(watchId: bigint, headerRevision: bigint): void;
  /** Forgets its id on the stream (canceled, paused or closed) and returns it; undefined when it had none. */
  _unbind(): bigint | undefined;
  /** A create refused with "permission denied": true the first time since it was last created (earns one reopen). */
  _firstDenial(): boolean;
  /**
   * Takes a server answer's events: drops those already delivered, moves the resume point past the rest
   * and strips a namespace view's prefix from them. Returns what is new (maybe nothing).
   */
  _accept(events: readonly Event[]): Event[];
  /** Hands a batch to the consumer; false when the buffer is over its bound (pause the watch). */
  _deliver(batch: WatchBatch): boolean;
  /** `active` → `paused`: canceled on the server until the consumer drains it. */
  _pause(): void;
  /** `paused` → `disconnected` (to be created again). False (nothing changes) when it was not paused. */
  _unpause(): boolean;
  /** Canceled by a compaction it resyncs across: `resyncing`. */
  _startResync(): void;
  /**
   * The resync read its range at `revision` (keys `kvs`, still with a view's prefix): delivers them as a
   * `resync` batch and resumes after `revision`, as `disconnected` (to be created again), or `paused`
   * when the batch put the buffer over its bound. Returns true for `disconnected`.
   */
  _resynced(revision: bigint, kvs: KeyValuePb[]): boolean;
  /** Ends the watch (the hub already forgot it). */
  _end(error?: Error): void;
}

/** Buffered weight of a batch: its events (at least 1, so progress batches count too). */
function weigh(batch: WatchBatch): number {
  return Math.max(1, batch.events.length + (batch.resync?.length ?? 0));
}

// Bits of `Watcher.#flags`: one number instead of eight booleans, since a client may hold 100,000 watches.
/** The producer (the hub) ended the watch: buffered batches are still delivered. */
const ENDED = 1;
/** The consumer stopped: buffered batches were dropped. */
const STOPPED = 2;
/** A consumer (a `for await` or the event face) is reading. */
const READING = 4;
/** The event face was chosen (a `batch` listener was added): `for await` is refused from now on. */
const EVENTS = 8;
/** The event face reads the buffer: deliveries schedule an emit instead of waking a `for await`. */
const EMITTING = 16;
/** A microtask that emits the buffered batches is queued. */
const SCHEDULED = 64;
/** `closed` is settled (with `closedWith`). */
const SETTLED = 128;
/** A create was refused with "permission denied" once; a second refusal on a fresh stream is real. */
const DENIED_ONCE = 256;

/**
 * What only some watches need, made on first need: an idle watch that nobody asked for `closed`,
 * `created` or `signal` and that has no `signal` option holds none of it (~70 bytes less per watch).
 */
interface WatcherExtras {
  /** The error the producer ended the watch with. */
  error?: Error | undefined;
  closed?: Promise<Error | undefined>;
  resolveClosed?: ((error: Error | undefined) => void) | undefined;
  /** What `closed` settled with. */
  closedWith?: Error | undefined;
  /** Made on first use of `signal`; aborted when the watch is over. */
  abort?: AbortController | undefined;
  /** Removes this watch's listener from its `signal` option. */
  unlisten?: (() => void) | undefined;
  createdPromise?: Promise<bigint> | undefined;
  onCreated?: { resolve: (revision: bigint) => void; reject: (error: Error) => void } | undefined;
  /** For a watch made in a namespace view: the prefix stripped from delivered keys. */
  namespace?: Namespace | undefined;
}

/**
 * One watch: an async iterable of {@link WatchBatch}es and an event-emitter face (`batch`, `close`,
 * `state`). Use one face: adding a `batch` listener starts draining the queue into events, after which
 * `for await` is refused (and the other way round). It follows the lifecycle convention of every live
 * object (docs/client.md): `close()`, `closed`, `state`, the `close` event, `signal`. Its protocol state
 * (`state`, `nextRevision`) is driven by the hub.
 *
 * Why the buffer is an `AsyncQueue` (`src/client/core/async-queue.ts`) made on first need rather than a `QueuedIterator` with
 * callbacks: a client may hold many thousands of mostly idle watches, and every closure, promise and
 * generator per watch is kept for the watch's whole life. Here an idle watch with an event listener
 * holds no promise, closure, generator or buffer of its own; the `closed` promise and the buffer
 * (hooks as methods, no closure) are made only when used.
 */
export class Watcher
  extends EventEmitter<WatcherEvents>
  implements AsyncIterable<WatchBatch>, AsyncDisposable
{
  /** Key and range end in one buffer (see `ownRange`): the key is `[0, #split)`. */
  readonly #range: Uint8Array;
  readonly #split: number;
  /** Options as given. */
  readonly options: Readonly<WatchOptions>;
  #state: WatcherState = "disconnected";
  /** The first revision the consumer has not seen; undefined = from now. */
  #next: bigint | undefined;
  /** The watch id on the current stream while `active`. */
  #watchId: bigint | undefined;
  readonly #owner: WatcherOwner;
  /** Buffered weight above which `_deliver` reports "pause me". */
  readonly #bound: number;
  /** Delivered, not yet consumed; made on the first delivery (or the first wait of a `for await`). */
  #queue: WatchQueue | undefined;
  #flags = 0;
  /** The revision the watch starts after, once created; `created` settles with it. */
  #createdRevision: bigint | undefined;
  #x: WatcherExtras | undefined;

  /** @internal Made by the client's watch hub: use `etcd.watch()`. */
  constructor(
    owner: WatcherOwner,
    range: PackedRange,
    options: WatchOptions,
    bound: number,
    next: bigint | undefined,
    namespace?: Namespace,
  ) {
    super();
    if (namespace) this.#extras().namespace = namespace;
    this.#owner = owner;
    this.#range = range.bytes;
    this.#split = range.split;
    this.options = options;
    this.#next = next;
    this.#bound = bound;
    // The typed map has no "newListener"; it is an ordinary EventEmitter event. A private method is one
    // function shared by every watch (EventEmitter calls it with `this` = the watcher), not a closure each.
    (this as EventEmitter).on("newListener", this.#onNewListener);
  }

  #onNewListener(event: string | symbol): void {
    if (event !== "batch" || this.#flags & EVENTS) return;
    // Thrown from `on()` itself: a `for await` already reads this watch and keeps it.
    if (this.#flags & READING)
      throw new InvalidUsageError("this watch is already being iterated; use one face");
    this.#flags |= EVENTS | EMITTING | READING;
    this.#schedule();
  }

  /** The watched key (range start), as sent to etcd (with the prefix of the namespace view it was made in); a copy. */
  get key(): Uint8Array {
    return packedKey(this.#range, this.#split);
  }

  /** The watched range end, as sent to etcd (a copy); empty for a single key. */
  get rangeEnd(): Uint8Array {
    return packedRangeEnd(this.#range, this.#split);
  }

  /** Where the watch is: `creating`, `active`, `paused`, `disconnected`, `resyncing` or `closed`. */
  get state(): WatcherState {
    return this.#state;
  }

  /** A change of state is a `state` event. */
  #setState(state: WatcherState): void {
    if (state === this.#state) return;
    this.#state = state;
    // From a microtask: a listener may close the watch, which must not happen inside the hub's bookkeeping.
    if (this.listenerCount("state") > 0) queueMicrotask(() => this.emit("state", state));
  }

  /**
   * Resolves with the revision the watch starts after, once the server created it: every event it
   * delivers is newer, so a write that resolved with this revision or older will not be delivered (Go's
   * `WithCreatedNotify`). Rejects with the watch's error (or a `WatchClosedError`) if it ends first.
   */
  get created(): Promise<bigint> {
    const x = this.#extras();
    x.createdPromise ??= new Promise<bigint>((resolve, reject) => {
      if (this.#createdRevision !== undefined) return resolve(this.#createdRevision);
      if (this.#flags & (ENDED | STOPPED)) return reject(x.error ?? new WatchClosedError());
      x.onCreated = { resolve, reject };
    });
    return x.createdPromise;
  }

  /** The revision the watch resumes from after a break (the first one not yet delivered). */
  get nextRevision(): bigint | undefined {
    return this.#next;
  }

  /** Events delivered but not yet consumed. */
  get bufferedEvents(): number {
    return this.#queue?.weight ?? 0;
  }

  /**
   * Resolves when the watch is over (after its last batch was consumed): with its error, or `undefined`
   * when this process closed it (`close()`, its `signal`, the client closing). Never rejects.
   */
  get closed(): Promise<Error | undefined> {
    const x = this.#extras();
    if (!x.closed) {
      if (this.#flags & SETTLED) x.closed = Promise.resolve(x.closedWith);
      else
        x.closed = new Promise((resolve) => {
          x.resolveClosed = resolve;
        });
    }
    return x.closed;
  }

  /**
   * Aborted when the watch is over; its `reason` is the watch's error, or a `ClosedError` when this
   * process closed it. Hand it to work that must stop with the watch.
   */
  get signal(): AbortSignal {
    const x = this.#extras();
    if (!x.abort) {
      x.abort = new AbortController();
      if (this.#flags & SETTLED) x.abort.abort(x.closedWith ?? new ClosedError("the watch was closed"));
    }
    return x.abort.signal;
  }

  /**
   * Closes the watch (canceled on the server) and resolves once it let go of the stream; never rejects.
   * A running `for await` ends after the batches already buffered.
   */
  async close(): Promise<void> {
    if (this.#state === "closed") return;
    this.#owner.detach(this);
  }

  /** Same as `close()`, for `await using`. */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  [Symbol.asyncIterator](): AsyncIterator<WatchBatch> {
    if (this.#flags & EVENTS)
      throw new InvalidUsageError("this watch is consumed through its events; use one face");
    return this.#iterate();
  }

  /** @internal Closes the watch when `signal` aborts; the listener goes when the watch ends. */
  _closeOn(signal: AbortSignal): void {
    const onAbort = () => void this.close();
    signal.addEventListener("abort", onAbort, { once: true });
    this.#extras().unlisten = () => signal.removeEventListener("abort", onAbort);
  }

  /** @internal {@link HubWatcher._queue}. */
  _queue(): boolean {
    if (this.#state !== "disconnected") return false;
    this.#setState("creating");
    return true;
  }

  /** @internal {@link HubWatcher._lostStream}. */
  _lostStream(): void {
    if (this.#state !== "creating" && this.#state !== "active") return;
    this.#setState("disconnected");
    this.#watchId = undefined;
  }

  /** @internal {@link HubWatcher._activate}. */
  _activate(watchId: bigint, headerRevision: bigint): void {
    this.#setState("active");
    this.#watchId = watchId;
    this.#flags &= ~DENIED_ONCE;
    this.#next = nextAfterCreated(this.#next, headerRevision);
    this.#created(this.#next - 1n);
  }

  /** @internal {@link HubWatcher._unbind}. */
  _unbind(): bigint | undefined {
    const id = this.#watchId;
    this.#watchId = undefined;
    return id;
  }

  /** @internal {@link HubWatcher._firstDenial}: a second refusal on a fresh stream is real. */
  _firstDenial(): boolean {
    if (this.#flags & DENIED_ONCE) return false;
    this.#flags |= DENIED_ONCE;
    return true;
  }

  /** @internal {@link HubWatcher._accept}. */
  _accept(events: readonly Event[]): Event[] {
    const fresh = dropSeen(events, this.#next);
    if (fresh.length === 0) return fresh;
    this.#next = nextAfterEvents(this.#next, fresh);
    this.#x?.namespace?.unprefixEvents(fresh);
    return fresh;
  }

  /** @internal {@link HubWatcher._pause}. */
  _pause(): void {
    this.#setState("paused");
  }

  /** @internal {@link HubWatcher._unpause}. */
  _unpause(): boolean {
    if (this.#state !== "paused") return false;
    this.#setState("disconnected");
    return true;
  }

  /** @internal {@link HubWatcher._startResync}. */
  _startResync(): void {
    this.#setState("resyncing");
  }

  /** @internal {@link HubWatcher._resynced}. */
  _resynced(revision: bigint, kvs: KeyValuePb[]): boolean {
    this.#next = revision + 1n;
    this.#x?.namespace?.unprefixKeyValues(kvs);
    const fits = this._deliver({ revision, events: [], resync: wrapAll(kvs) });
    this.#setState(fits ? "disconnected" : "paused");
    return fits;
  }

  #extras(): WatcherExtras {
    this.#x ??= {};
    return this.#x;
  }

  /** The server created the watch (the first time counts); it starts after `revision`. */
  #created(revision: bigint): void {
    if (this.#createdRevision !== undefined) return;
    this.#createdRevision = revision;
    const x = this.#x;
    const onCreated = x?.onCreated;
    if (x) x.onCreated = undefined;
    onCreated?.resolve(revision);
  }

  /** @internal {@link HubWatcher._deliver}. */
  _deliver(batch: WatchBatch): boolean {
    if (this.#flags & (ENDED | STOPPED)) return false;
    const fits = this.#buffer().push(batch);
    if (this.#flags & EMITTING) this.#schedule();
    return fits;
  }

  /** @internal {@link HubWatcher._end}. */
  _end(error?: Error): void {
    this.#setState("closed");
    const x = this.#x;
    const onCreated = x?.onCreated;
    if (x && onCreated) {
      x.onCreated = undefined;
      // Nobody has to await `created`: an unobserved rejection must not crash the process.
      x.createdPromise?.catch(() => {});
      onCreated.reject(error ?? new WatchClosedError());
    }
    const unlisten = x?.unlisten;
    if (x) x.unlisten = undefined;
    unlisten?.();
    if (this.#flags & (ENDED | STOPPED)) return;
    this.#flags |= ENDED;
    if (error) this.#extras().error = error;
    this.#wakeUp();
    if (!this.#queue?.length && !(this.#flags & READING)) this.#settle(error);
  }

  /** Consumer side: stop now, dropping whatever is buffered; the hub cancels the watch. */
  #stop(error?: Error): void {
    if (this.#flags & STOPPED) return;
    const wasDone = this.#flags & ENDED;
    this.#flags |= STOPPED;
    this.#wakeUp();
    this.#queue = undefined;
    if (!wasDone) this.#owner.detach(this);
    this.#settle(error);
  }

  #settle(error: Error | undefined): void {
    if (this.#flags & SETTLED) return;
    this.#flags |= SETTLED;
    // A watch closed cleanly that nobody asked `closed` or `signal` of has nothing to settle.
    if (this.#x || error) {
      const x = this.#extras();
      x.closedWith = error;
      const resolve = x.resolveClosed;
      x.resolveClosed = undefined;
      resolve?.(error);
      x.abort?.abort(error ?? new ClosedError("the watch was closed"));
    }
    // From a microtask, as `state`: a listener may act on the client, not inside the hub's bookkeeping.
    queueMicrotask(() => this.emit("close", error));
  }

  /** The buffer, made on first need. */
  #buffer(): WatchQueue {
    this.#queue ??= new WatchQueue(this.#bound, this.#owner, this);
    return this.#queue;
  }

  /** Takes the oldest buffered batch (undefined when none), owing the hub a resume once drained to half. */
  #take(): WatchBatch | undefined {
    return this.#queue?.take();
  }

  /** The watch ended or stopped: wakes its reader (a `for await`, or the event face's emitter). */
  #wakeUp(): void {
    if (this.#flags & EMITTING) this.#schedule();
    else if (this.#flags & STOPPED) this.#queue?.stop();
    else this.#queue?.end();
  }

  async *#iterate(): AsyncGenerator<WatchBatch> {
    if (this.#flags & READING) throw new InvalidUsageError("this watch is already being iterated");
    this.#flags |= READING;
    try {
      while (true) {
        if (this.#flags & STOPPED) return;
        const batch = this.#take();
        if (batch !== undefined) {
          yield batch;
          continue;
        }
        if (this.#flags & ENDED) {
          const error = this.#x?.error;
          this.#settle(error);
          if (error) throw error;
          return;
        }
        await this.#buffer().wait();
      }
    } finally {
      this.#flags &= ~READING;
      // A `break` (or a throw in the loop body) lands here without an end: the consumer is gone.
      if (!(this.#flags & ENDED)) this.#stop();
    }
  }

  #schedule(): void {
    if (this.#flags & SCHEDULED) return;
    this.#flags |= SCHEDULED;
    queueMicrotask(() => this.#emitBuffered());
  }

  /** Emits every buffered batch; after the last one of an ended watch, `close`. */
  #emitBuffered(): void {
    this.#flags &= ~SCHEDULED;
    if (!(this.#flags & EMITTING)) return;
    try {
      while (!(this.#flags & STOPPED)) {
        const batch = this.#take();
        if (batch === undefined) break;
        this.emit("batch", batch);
      }
      if (!(this.#flags & (ENDED | STOPPED))) return;
      this.#settle(this.#x?.error);
    } catch (err) {
      // A throwing listener ends the watch with its error, as the loop of a `for await` would.
      this.#stop(err instanceof Error ? err : new Error(String(err)));
    }
    this.#flags &= ~(READING | EMITTING);
  }
}

/**
 * A watch's buffer: the package's one `AsyncQueue` (`src/client/core/async-queue.ts`), weighing batches by their events, with a
 * `resume` owed to the hub once a paused watch's buffer drained to half of its bound. Made only for a
 * watch that got a batch or is read by a `for await`, so an idle watch holds none.
 */
class WatchQueue extends AsyncQueue<WatchBatch> {
  readonly #owner: WatcherOwner;
  readonly #watcher: Watcher;

  constructor(bound: number, owner: WatcherOwner, watcher: Watcher) {
    super(bound, Math.floor(bound / 2));
    this.#owner = owner;
    this.#watcher = watcher;
  }

  protected override weigh(batch: WatchBatch): number {
    return weigh(batch);
  }

  protected override drained(): void {
    this.#owner.resume(this.#watcher);
  }
}
