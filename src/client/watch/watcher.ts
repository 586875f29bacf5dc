import { EventEmitter } from "node:events";
import { QueuedIterator } from "../stream/queued-iterator.js";
import type { WatchBatch, WatcherState, WatchOptions } from "./types.js";

/** Events of a {@link Watcher}'s event-emitter face. */
export interface WatcherEvents {
  /** A batch of events (or a progress / resync batch). */
  batch: [WatchBatch];
  /** The watch ended with an error (only emitted when someone listens for it). */
  error: [Error];
  /** The watch ended (after `error`, or cleanly). */
  end: [];
}

/** What a {@link Watcher} asks of the hub that owns it. */
export interface WatcherOwner {
  /** The consumer is gone or closed the watch: cancel it on the server. */
  detach(watcher: Watcher): void;
  /** The consumer drained a paused watch: create it again from its resume point. */
  resume(watcher: Watcher): void;
}

/**
 * One watch: an async iterable of {@link WatchBatch}es and an event-emitter face (`batch`, `error`,
 * `end`). Use one face: adding a `batch` listener starts draining the queue into events, after which
 * `for await` is refused. Its protocol state (`state`, `nextRevision`) is driven by the hub.
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
  /** @internal The hub's bookkeeping: the state of the watch (see {@link WatcherState}). */
  _state: WatcherState = "disconnected";
  /** @internal The first revision the consumer has not seen; undefined = from now. */
  _next: bigint | undefined;
  /** @internal The watch id on the current stream while `active`. */
  _watchId: bigint | undefined;
  readonly #owner: WatcherOwner;
  readonly #queue: QueuedIterator<WatchBatch>;
  #pumping = false;

  constructor(
    owner: WatcherOwner,
    key: Uint8Array,
    rangeEnd: Uint8Array,
    options: WatchOptions,
    bound: number,
  ) {
    super();
    this.#owner = owner;
    this.key = key;
    this.rangeEnd = rangeEnd;
    this.options = options;
    this._next = options.startRevision;
    this.#queue = new QueuedIterator<WatchBatch>({
      weigh: (b) => Math.max(1, b.events.length + (b.resync?.length ?? 0)),
      highWaterMark: bound,
      lowWaterMark: Math.floor(bound / 2),
      onDrain: () => this.#owner.resume(this),
      onStop: () => this.#owner.detach(this),
    });
    // The typed map has no "newListener"; it is an ordinary EventEmitter event.
    (this as EventEmitter).on("newListener", (event: string | symbol) => {
      if (event === "batch" && !this.#pumping) this.#pump();
    });
  }

  /** Where the watch is: `creating`, `active`, `paused`, `disconnected`, `resyncing` or `ended`. */
  get state(): WatcherState {
    return this._state;
  }

  /** The revision the watch resumes from after a break (the first one not yet delivered). */
  get nextRevision(): bigint | undefined {
    return this._next;
  }

  /** Events delivered but not yet consumed. */
  get bufferedEvents(): number {
    return this.#queue.weight;
  }

  /** Resolves when the watch is over: with its error, or undefined when closed cleanly. Never rejects. */
  get closed(): Promise<Error | undefined> {
    return this.#queue.closed;
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
    if (this.#pumping) throw new Error("this watch is consumed through its events; use one face");
    return this.#queue[Symbol.asyncIterator]();
  }

  /** @internal Hands a batch to the consumer; false when the buffer is over its bound (pause the watch). */
  _deliver(batch: WatchBatch): boolean {
    return this.#queue.push(batch);
  }

  /** @internal Ends the watch (the hub already forgot it). */
  _end(error?: Error): void {
    this._state = "ended";
    this.#queue.end(error);
  }

  async #pump(): Promise<void> {
    this.#pumping = true;
    try {
      for await (const batch of this.#queue) this.emit("batch", batch);
    } catch (err) {
      if (this.listenerCount("error") > 0) this.emit("error", err as Error);
    }
    this.emit("end");
  }
}
