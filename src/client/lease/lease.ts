import { EventEmitter } from "node:events";
import { QueuedIterator } from "../stream/queued-iterator.js";
import type { LeaseLostError } from "./errors.js";

/** One successful refresh of a lease. */
export interface LeaseKeepAliveEvent {
  /** The lease ID. */
  readonly id: bigint;
  /** TTL the server granted with this refresh, in seconds. */
  readonly ttl: number;
  /** Store revision of the answer's header. */
  readonly revision: bigint;
}

/** Events of a {@link Lease}'s event-emitter face. */
export interface LeaseEvents {
  /** A refresh succeeded. */
  keepalive: [LeaseKeepAliveEvent];
  /** The lease is (or may be) gone; emitted once, no refresh follows. */
  lost: [LeaseLostError];
  /** The lease stopped being kept alive by `close()` or `revoke()`. */
  closed: [];
}

/** What a {@link Lease} asks of the keeper that owns it. */
export interface LeaseOwner {
  /** Stops keeping `id` alive (no revoke). */
  release(id: bigint): void;
  /** Revokes `id` on the server. */
  revoke(id: bigint, options?: { signal?: AbortSignal }): Promise<void>;
  /** Sends one keepalive for `id` on its own stream and returns the granted TTL in seconds. */
  keepAliveOnce(id: bigint, options?: { signal?: AbortSignal }): Promise<number>;
}

/**
 * A granted lease that keeps itself alive (on the keeper's shared stream) until `close()`, `revoke()`
 * or loss. Three faces: events (`keepalive`, `lost`, `closed`), a `lost` promise that rejects with a
 * {@link LeaseLostError}, and `for await` over its refreshes, which throws the same error on loss and ends
 * cleanly on close.
 */
export class Lease
  extends EventEmitter<LeaseEvents>
  implements AsyncIterable<LeaseKeepAliveEvent>, AsyncDisposable
{
  /** The lease ID. */
  readonly id: bigint;
  /** TTL the server granted when the lease was created, in seconds (it may differ from the one asked). */
  readonly grantedTtl: number;
  readonly #owner: LeaseOwner;
  readonly #subscribers = new Set<QueuedIterator<LeaseKeepAliveEvent>>();
  readonly #lost: Promise<never>;
  #rejectLost!: (error: LeaseLostError) => void;
  #state: "alive" | "lost" | "closed" = "alive";
  #ttl: number;
  #error: LeaseLostError | undefined;

  constructor(owner: LeaseOwner, id: bigint, grantedTtl: number) {
    super();
    this.#owner = owner;
    this.id = id;
    this.grantedTtl = grantedTtl;
    this.#ttl = grantedTtl;
    this.#lost = new Promise<never>((_, reject) => {
      this.#rejectLost = reject;
    });
    // Nobody has to await `lost`: keep an unobserved rejection from crashing the process.
    this.#lost.catch(() => {});
  }

  /** Rejects with a {@link LeaseLostError} when the lease is lost; stays pending otherwise. */
  get lost(): Promise<never> {
    return this.#lost;
  }

  /** `alive` while kept alive, `lost` after loss, `closed` after `close()` / `revoke()`. */
  get state(): "alive" | "lost" | "closed" {
    return this.#state;
  }

  /** TTL of the last successful refresh (or of the grant), in seconds. */
  get ttl(): number {
    return this.#ttl;
  }

  /** The loss error once lost. */
  get error(): LeaseLostError | undefined {
    return this.#error;
  }

  /** Sends one keepalive now on a separate stream; resolves with the TTL granted, in seconds. */
  keepAliveOnce(options?: { signal?: AbortSignal }): Promise<number> {
    return this.#owner.keepAliveOnce(this.id, options);
  }

  /** Revokes the lease on the server (its keys are deleted) and stops keeping it alive. */
  async revoke(options?: { signal?: AbortSignal }): Promise<void> {
    this.close();
    await this.#owner.revoke(this.id, options);
  }

  /** Stops keeping the lease alive; the server expires it after its TTL. Safe to call twice. */
  close(): void {
    if (this.#state !== "alive") return;
    this.#owner.release(this.id);
    this._markClosed();
  }

  async [Symbol.asyncDispose](): Promise<void> {
    this.close();
  }

  /** Iterates over successful refreshes from now on; throws {@link LeaseLostError} on loss. */
  [Symbol.asyncIterator](): AsyncIterator<LeaseKeepAliveEvent> {
    const queue = new QueuedIterator<LeaseKeepAliveEvent>({
      onStop: () => this.#subscribers.delete(queue),
    });
    if (this.#state === "lost") queue.end(this.#error);
    else if (this.#state === "closed") queue.end();
    else this.#subscribers.add(queue);
    return queue[Symbol.asyncIterator]();
  }

  /** @internal The keeper reports a successful refresh. */
  _refreshed(event: LeaseKeepAliveEvent): void {
    if (this.#state !== "alive") return;
    this.#ttl = event.ttl;
    for (const q of this.#subscribers) q.push(event);
    this.emit("keepalive", event);
  }

  /** @internal The keeper declares the lease lost. */
  _markLost(error: LeaseLostError): void {
    if (this.#state !== "alive") return;
    this.#state = "lost";
    this.#error = error;
    for (const q of this.#subscribers) q.end(error);
    this.#subscribers.clear();
    this.#rejectLost(error);
    // An EventEmitter throws on an unhandled "error" event; "lost" is a plain event, safe without listeners.
    this.emit("lost", error);
  }

  /** @internal The keeper stopped keeping it alive. */
  _markClosed(): void {
    if (this.#state !== "alive") return;
    this.#state = "closed";
    for (const q of this.#subscribers) q.end();
    this.#subscribers.clear();
    this.emit("closed");
  }
}
