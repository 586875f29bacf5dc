import { EventEmitter } from "../core/event-emitter.js";
import { Lifecycle } from "../core/lifecycle.js";
import { QueuedIterator } from "../core/queued-iterator.js";
import type { LeaseLostError, LeaseLostReason } from "./errors.js";

/** One successful refresh of a lease. */
export interface LeaseKeepAliveEvent {
  /** The lease ID. */
  readonly id: bigint;
  /** TTL the server granted with this refresh, in seconds. */
  readonly ttl: number;
  /** Store revision of the answer's header. */
  readonly revision: bigint;
}

/** A lease the client kept alive is lost (`etcd-ts:lease:lost`). */
export interface LeaseLostEvent {
  /** The lease ID. */
  readonly leaseId: bigint;
  /** Why: `"expired"` (the server answered TTL 0) or `"deadline"` (no refresh in time). */
  readonly reason: LeaseLostReason;
  /** The error the lease ended with. */
  readonly error: LeaseLostError;
}

/** Where a {@link Lease} is: kept alive, or over (lost, closed, revoked). */
export type LeaseState = "alive" | "closed";

/** Events of a {@link Lease}'s event-emitter face. */
export interface LeaseEvents {
  /** A refresh succeeded. */
  keepalive: [LeaseKeepAliveEvent];
  /** The state changed (see {@link LeaseState}); emitted from a microtask. */
  state: [LeaseState];
  /**
   * The lease is no longer kept alive, emitted once: with a {@link LeaseLostError} when it is (or may
   * be) gone, `undefined` when this process stopped keeping it alive (`close()`, `revoke()`, the client
   * closing). The same value as `closed`.
   */
  close: [Error | undefined];
}

/** What a {@link Lease} asks of the keeper that owns it. */
export interface LeaseOwner {
  /** Stops keeping `id` alive (no revoke). */
  release(id: bigint): void;
  /** Revokes `id` on the server. */
  revoke(id: bigint, options?: { signal?: AbortSignal | undefined }): Promise<void>;
  /** Sends one keepalive for `id` on its own stream and returns the granted TTL in seconds. */
  keepAliveOnce(id: bigint, options?: { signal?: AbortSignal | undefined }): Promise<number>;
}

/**
 * A granted lease that keeps itself alive (on the keeper's shared stream) until `close()`, `revoke()`
 * or loss. It follows the lifecycle convention of every live object (docs/client.md): `state`,
 * `closed` (resolves with a {@link LeaseLostError} on loss, `undefined` when closed here; never
 * rejects), the `close` and `state` events, `signal`. Refreshes come as `keepalive` events or through
 * `for await`, which throws the loss error and ends cleanly on close.
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
  /** Open `for await` loops; made by the first (most leases never have one). */
  #subscribers: Set<QueuedIterator<LeaseKeepAliveEvent>> | undefined;
  readonly #life = new Lifecycle<LeaseState>(this, "lease", "alive");
  #ttl: number;

  constructor(owner: LeaseOwner, id: bigint, grantedTtl: number) {
    super();
    this.#owner = owner;
    this.id = id;
    this.grantedTtl = grantedTtl;
    this.#ttl = grantedTtl;
  }

  /** `alive` while kept alive; `closed` after loss, `close()` or `revoke()`. */
  get state(): LeaseState {
    return this.#life.state;
  }

  /**
   * Resolves once the lease is no longer kept alive: with a {@link LeaseLostError} when it is (or may
   * be) gone, `undefined` when this process stopped it (`close()`, `revoke()`, the client closing).
   * Never rejects.
   */
  get closed(): Promise<Error | undefined> {
    return this.#life.closed;
  }

  /** Aborted when the lease is no longer kept alive; the reason is the loss error or a `ClosedError`. */
  get signal(): AbortSignal {
    return this.#life.signal;
  }

  /** TTL of the last successful refresh (or of the grant), in seconds. */
  get ttl(): number {
    return this.#ttl;
  }

  /** Sends one keepalive now on a separate stream; resolves with the TTL granted, in seconds. */
  keepAliveOnce(options?: { signal?: AbortSignal | undefined }): Promise<number> {
    return this.#owner.keepAliveOnce(this.id, options);
  }

  /** Stops keeping the lease alive, then revokes it on the server (its keys are deleted); rejects if the revoke fails. */
  async revoke(options?: { signal?: AbortSignal | undefined }): Promise<void> {
    await this.close();
    await this.#owner.revoke(this.id, options);
  }

  /** Stops keeping the lease alive; the server expires it after its TTL. Idempotent; never rejects. */
  async close(): Promise<void> {
    if (this.#life.ended) return;
    this.#owner.release(this.id);
    this._markClosed();
  }

  /** Same as `close()`, for `await using`. */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  /** Iterates over successful refreshes from now on; throws {@link LeaseLostError} on loss. */
  [Symbol.asyncIterator](): AsyncIterator<LeaseKeepAliveEvent> {
    const queue = new QueuedIterator<LeaseKeepAliveEvent>({
      onStop: () => this.#subscribers?.delete(queue),
    });
    if (this.#life.ended) queue.end(this.#life.error);
    else {
      this.#subscribers ??= new Set();
      this.#subscribers.add(queue);
    }
    return queue[Symbol.asyncIterator]();
  }

  /** @internal The keeper reports a successful refresh: `ttl` granted, at store `revision`. */
  _refreshed(ttl: number, revision: bigint): void {
    if (this.#life.ended) return;
    this.#ttl = ttl;
    // Most leases have no one listening: no event object for them.
    if (this.#subscribers === undefined && this.listenerCount("keepalive") === 0) return;
    const event: LeaseKeepAliveEvent = { id: this.id, ttl, revision };
    if (this.#subscribers) for (const q of this.#subscribers) q.push(event);
    this.emit("keepalive", event);
  }

  /** @internal The keeper declares the lease lost. */
  _markLost(error: LeaseLostError): void {
    this.#end(error);
  }

  /** @internal The keeper stopped keeping it alive. */
  _markClosed(): void {
    this.#end(undefined);
  }

  #end(error: LeaseLostError | undefined): void {
    if (!this.#life.end(error)) return;
    const subscribers = this.#subscribers;
    this.#subscribers = undefined;
    if (subscribers) for (const q of subscribers) q.end(error);
  }
}
