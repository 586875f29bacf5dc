import { EventEmitter } from "node:events";
import { InvalidUsageError } from "../errors.js";
import { WatchClosedError } from "./errors.js";
import type { WatchBatch, WatcherState, WatchOptions } from "./types.js";

/** Events of a {@link Watcher}'s event-emitter face. */
export interface WatcherEvents {
  /** A batch of events (or a progress / resync batch). */
  batch: [WatchBatch];
  /** The watch ended with an error (only emitted when someone listens for it). */
  error: [Error];
  /** The watch ended (after `error`, or cleanly). */
  end: [];
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
/** `push` reported the buffer over its bound; `onDrain` is owed once it falls to half. */
const OVER = 32;
/** A microtask that emits the buffered batches is queued. */
const SCHEDULED = 64;
/** `closed` is settled (with `#closedWith`). */
const SETTLED = 128;

/**
 * One watch: an async iterable of {@link WatchBatch}es and an event-emitter face (`batch`, `error`,
 * `end`). Use one face: adding a `batch` listener starts draining the queue into events, after which
 * `for await` is refused. Its protocol state (`state`, `nextRevision`) is driven by the hub.
 *
 * Why the queue lives here rather than in a `QueuedIterator` with callbacks: a client may hold many
 * thousands of mostly idle watches, and every closure, promise and generator per watch is kept for
 * the watch's whole life. Here an idle watch with an event listener holds no promise, closure or
 * generator of its own; the `closed` promise and the buffer are made only when used.
 */
export class Watcher
  extends EventEmitter<WatcherEvents>
  implements AsyncIterable<WatchBatch>, AsyncDisposable
{
  /** The watched key (range start). */
  readonly key: Uint8Array;
  /** The watched range end; empty for a single key. */
  readonly rangeEnd: Uint8Array;
  /** Options as given. */
  readonly options: Readonly<WatchOptions>;
  #state: WatcherState = "disconnected";
  /** @internal The first revision the consumer has not seen; undefined = from now. */
  _next: bigint | undefined;
  /** @internal The watch id on the current stream while `active`. */
  _watchId: bigint | undefined;
  /** @internal A create was refused with "permission denied" once; a second refusal on a fresh stream is real. */
  _deniedOnce = false;
  readonly #owner: WatcherOwner;
  /** Buffered weight above which `_deliver` reports "pause me". */
  readonly #bound: number;
  /** Delivered, not yet consumed; made on the first delivery. */
  #buffer: WatchBatch[] | undefined;
  #weight = 0;
  #flags = 0;
  /** The error the producer ended the watch with. */
  #error: Error | undefined;
  /** Wakes a `for await` waiting for a batch. */
  #wake: (() => void) | undefined;
  #closed: Promise<Error | undefined> | undefined;
  #resolveClosed: ((error: Error | undefined) => void) | undefined;
  #closedWith: Error | undefined;
  /** Removes this watch's listener from its `signal`, if it has one. */
  #unlisten: (() => void) | undefined;
  /** The revision the watch starts after, once created; `created` settles with it. */
  #createdRevision: bigint | undefined;
  #createdPromise: Promise<bigint> | undefined;
  #onCreated: { resolve: (revision: bigint) => void; reject: (error: Error) => void } | undefined;

  /** @internal Made by the client's watch hub: use `etcd.watch()`. */
  constructor(
    owner: WatcherOwner,
    key: Uint8Array,
    rangeEnd: Uint8Array,
    options: WatchOptions,
    bound: number,
    next: bigint | undefined,
  ) {
    super();
    this.#owner = owner;
    this.key = key;
    this.rangeEnd = rangeEnd;
    this.options = options;
    this._next = next;
    this.#bound = bound;
    // The typed map has no "newListener"; it is an ordinary EventEmitter event. A private method is one
    // function shared by every watch (EventEmitter calls it with `this` = the watcher), not a closure each.
    (this as EventEmitter).on("newListener", this.#onNewListener);
  }

  #onNewListener(event: string | symbol): void {
    if (event === "batch" && !(this.#flags & EVENTS)) this.#startEmitting();
  }

  /** Where the watch is: `creating`, `active`, `paused`, `disconnected`, `resyncing` or `ended`. */
  get state(): WatcherState {
    return this.#state;
  }

  /** @internal The hub's bookkeeping: the state of the watch; a change is a `state` event. */
  get _state(): WatcherState {
    return this.#state;
  }

  set _state(state: WatcherState) {
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
    this.#createdPromise ??= new Promise<bigint>((resolve, reject) => {
      if (this.#createdRevision !== undefined) return resolve(this.#createdRevision);
      if (this.#flags & (ENDED | STOPPED)) return reject(this.#error ?? new WatchClosedError());
      this.#onCreated = { resolve, reject };
    });
    return this.#createdPromise;
  }

  /** The revision the watch resumes from after a break (the first one not yet delivered). */
  get nextRevision(): bigint | undefined {
    return this._next;
  }

  /** Events delivered but not yet consumed. */
  get bufferedEvents(): number {
    return this.#weight;
  }

  /** Resolves when the watch is over: with its error, or undefined when closed cleanly. Never rejects. */
  get closed(): Promise<Error | undefined> {
    if (!this.#closed) {
      if (this.#flags & SETTLED) this.#closed = Promise.resolve(this.#closedWith);
      else
        this.#closed = new Promise((resolve) => {
          this.#resolveClosed = resolve;
        });
    }
    return this.#closed;
  }

  /** Closes the watch (canceled on the server); a running `for await` ends after buffered batches. */
  close(): void {
    if (this._state === "ended") return;
    this.#owner.detach(this);
  }

  async [Symbol.asyncDispose](): Promise<void> {
    this.close();
  }

  [Symbol.asyncIterator](): AsyncIterator<WatchBatch> {
    if (this.#flags & EVENTS)
      throw new InvalidUsageError("this watch is consumed through its events; use one face");
    return this.#iterate();
  }

  /** @internal Closes the watch when `signal` aborts; the listener goes when the watch ends. */
  _closeOn(signal: AbortSignal): void {
    const onAbort = () => this.close();
    signal.addEventListener("abort", onAbort, { once: true });
    this.#unlisten = () => signal.removeEventListener("abort", onAbort);
  }

  /** @internal The server created the watch for the first time; it starts after `revision`. */
  _created(revision: bigint): void {
    if (this.#createdRevision !== undefined) return;
    this.#createdRevision = revision;
    const onCreated = this.#onCreated;
    this.#onCreated = undefined;
    onCreated?.resolve(revision);
  }

  /** @internal Hands a batch to the consumer; false when the buffer is over its bound (pause the watch). */
  _deliver(batch: WatchBatch): boolean {
    if (this.#flags & (ENDED | STOPPED)) return false;
    if (this.#buffer) this.#buffer.push(batch);
    else this.#buffer = [batch];
    this.#weight += weigh(batch);
    this.#wakeUp();
    if (this.#weight > this.#bound) {
      this.#flags |= OVER;
      return false;
    }
    return true;
  }

  /** @internal Ends the watch (the hub already forgot it). */
  _end(error?: Error): void {
    this._state = "ended";
    const onCreated = this.#onCreated;
    this.#onCreated = undefined;
    if (onCreated) {
      // Nobody has to await `created`: an unobserved rejection must not crash the process.
      this.#createdPromise?.catch(() => {});
      onCreated.reject(error ?? new WatchClosedError());
    }
    const unlisten = this.#unlisten;
    this.#unlisten = undefined;
    unlisten?.();
    if (this.#flags & (ENDED | STOPPED)) return;
    this.#flags |= ENDED;
    this.#error = error;
    this.#wakeUp();
    if (!this.#buffer?.length && !(this.#flags & READING)) this.#settle(error);
  }

  /** Consumer side: stop now, dropping whatever is buffered; the hub cancels the watch. */
  #stop(): void {
    if (this.#flags & STOPPED) return;
    const wasDone = this.#flags & ENDED;
    this.#flags |= STOPPED;
    this.#buffer = undefined;
    this.#weight = 0;
    this.#wakeUp();
    if (!wasDone) this.#owner.detach(this);
    this.#settle(undefined);
  }

  #settle(error: Error | undefined): void {
    if (this.#flags & SETTLED) return;
    this.#flags |= SETTLED;
    this.#closedWith = error;
    const resolve = this.#resolveClosed;
    this.#resolveClosed = undefined;
    resolve?.(error);
  }

  /** Takes the oldest buffered batch (undefined when none), owing the hub a resume once drained to half. */
  #take(): WatchBatch | undefined {
    const batch = this.#buffer?.shift();
    if (batch === undefined) return undefined;
    this.#weight -= weigh(batch);
    if (this.#flags & OVER && this.#weight <= Math.floor(this.#bound / 2)) {
      this.#flags &= ~OVER;
      this.#owner.resume(this);
    }
    return batch;
  }

  #wakeUp(): void {
    if (this.#flags & EMITTING) {
      this.#schedule();
      return;
    }
    const wake = this.#wake;
    this.#wake = undefined;
    wake?.();
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
          this.#settle(this.#error);
          if (this.#error) throw this.#error;
          return;
        }
        await new Promise<void>((resolve) => {
          this.#wake = resolve;
        });
      }
    } finally {
      this.#flags &= ~READING;
      // A `break` (or a throw in the loop body) lands here without an end: the consumer is gone.
      if (!(this.#flags & ENDED)) this.#stop();
    }
  }

  /** The event face: from now on batches are emitted (from a microtask, never inside `on()`). */
  #startEmitting(): void {
    if (this.#flags & READING) {
      // A `for await` already reads this watch: it keeps it; the event face just ends, with the reason.
      this.#flags |= EVENTS;
      queueMicrotask(() => {
        if (this.listenerCount("error") > 0)
          this.emit("error", new InvalidUsageError("this watch is already being iterated"));
        this.emit("end");
      });
      return;
    }
    this.#flags |= EVENTS | EMITTING | READING;
    this.#schedule();
  }

  #schedule(): void {
    if (this.#flags & SCHEDULED) return;
    this.#flags |= SCHEDULED;
    queueMicrotask(() => this.#emitBuffered());
  }

  /** Emits every buffered batch; after the last one of an ended watch, `error` (if any) and `end`. */
  #emitBuffered(): void {
    this.#flags &= ~SCHEDULED;
    if (!(this.#flags & EMITTING)) return;
    let error: Error | undefined;
    try {
      while (!(this.#flags & STOPPED)) {
        const batch = this.#take();
        if (batch === undefined) break;
        this.emit("batch", batch);
      }
      if (!(this.#flags & (ENDED | STOPPED))) return;
      error = this.#error;
      this.#settle(error);
    } catch (err) {
      // A throwing listener ends the watch with its error, as the loop of a `for await` would.
      error = err as Error;
      this.#stop();
    }
    this.#flags &= ~(READING | EMITTING);
    if (error && this.listenerCount("error") > 0) this.emit("error", error);
    this.emit("end");
  }
}
