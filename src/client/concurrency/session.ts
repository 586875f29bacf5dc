import { EventEmitter } from "../core/event-emitter.js";
import { Lifecycle } from "../core/lifecycle.js";
import { checkOptionsObject } from "../core/validation.js";
import type { Lease } from "../lease/lease.js";
import { checkPort, type EtcdPort, onLeaseEnd } from "../port.js";

/** Options of {@link Session.create}. */
export interface SessionOptions {
  /** Lease TTL in seconds. Default 60 (Go's `defaultSessionTTL`). Ignored with `lease`. */
  ttl?: number | undefined;
  /**
   * Use this existing lease instead of granting one (Go's `concurrency.WithLease`): it is kept alive by
   * this client (`etcd.lease.keepAlive(id)`), and `close()` revokes it. Default: a new lease.
   */
  lease?: number | bigint | undefined;
  /** Aborts the lease grant. */
  signal?: AbortSignal | undefined;
}

/** Where a {@link Session} is: its lease kept alive, or over (lost, closed, orphaned). */
export type SessionState = "alive" | "closed";

/** Events of a {@link Session}. */
export interface SessionEvents {
  /** The state changed; emitted from a microtask. */
  state: [SessionState];
  /**
   * The session is over, emitted once: with the lease's `LeaseLostError` when the lease was lost,
   * `undefined` when this process ended it (`close()`, `orphan()`, the client closing).
   */
  close: [Error | undefined];
}

/**
 * A lease kept alive for the recipes built on it (Go's `concurrency.Session`): every lock and election
 * key of the session is attached to it, so they vanish when the session ends or is lost. It follows the
 * lifecycle convention of every live object (docs/client.md): `state`, `closed` (Go's `Done()`:
 * resolves with the `LeaseLostError` on loss, `undefined` when this process ended it; never rejects),
 * the `close` and `state` events, and `signal` to stop work with the session. `Client` is the type of
 * the client it was created with (an `Etcd`, or a namespace view of one).
 */
export class Session<Client extends EtcdPort = EtcdPort>
  extends EventEmitter<SessionEvents>
  implements AsyncDisposable
{
  /** The client the session's keys are written with. */
  readonly etcd: Client;
  /** The kept-alive lease. */
  readonly lease: Lease;
  /** The TTL asked for, in seconds. */
  readonly ttl: number;
  readonly #life = new Lifecycle<SessionState>(this, "session", "alive");
  #closing: Promise<void> | undefined;

  private constructor(etcd: Client, lease: Lease, ttl: number) {
    super();
    this.etcd = etcd;
    this.lease = lease;
    this.ttl = ttl;
    // Every held lock and election listens for the end: more than EventEmitter's default 10 is normal.
    this.setMaxListeners(0);
    onLeaseEnd(lease, (error) => this.#life.end(error));
  }

  /** Grants a lease of `ttl` seconds (default 60), or takes the existing `lease`, and keeps it alive. */
  static async create<Client extends EtcdPort>(
    etcd: Client,
    options: SessionOptions = {},
  ): Promise<Session<Client>> {
    checkPort(etcd, "etcd");
    checkOptionsObject(options);
    const callOptions = options.signal ? { signal: options.signal } : {};
    if (options.lease !== undefined) {
      const lease = await etcd.lease.keepAlive(options.lease, callOptions);
      return new Session(etcd, lease, lease.grantedTtl);
    }
    const ttl = options.ttl ?? 60;
    const lease = await etcd.lease.grant(ttl, callOptions);
    return new Session(etcd, lease, ttl);
  }

  /** The lease ID; lock and election keys are `<prefix>/<leaseId in hex>`. */
  get leaseId(): bigint {
    return this.lease.id;
  }

  /** `alive` while the lease is kept alive; `closed` once lost, closed or orphaned. */
  get state(): SessionState {
    return this.#life.state;
  }

  /**
   * Resolves once the lease is no longer kept alive (Go's `Done()`): with the `LeaseLostError` when it
   * was lost, `undefined` when this process ended the session. Never rejects.
   */
  get closed(): Promise<Error | undefined> {
    return this.#life.closed;
  }

  /** Aborted when the session ends; the reason is the loss error, or a `ClosedError`. */
  get signal(): AbortSignal {
    return this.#life.signal;
  }

  /** @internal Calls `listener` synchronously when the session ends (nothing is kept once removed). */
  _onEnd(listener: (error: Error | undefined) => void): () => void {
    return this.#life.onEnd(listener);
  }

  /** Stops keeping the lease alive without revoking it: its keys live until the TTL runs out (Go's `Orphan`). */
  async orphan(): Promise<void> {
    await this.lease.close();
  }

  /**
   * Ends the session: stops the keepalive and revokes the lease, which deletes every key of the
   * session (releasing its locks and leaderships). Never rejects: the revoke is best effort, bounded by
   * the TTL (past it the lease has expired anyway, and a failed revoke leaves the keys until then).
   */
  close(): Promise<void> {
    this.#closing ??= (async () => {
      await this.lease.close();
      // A lost lease is gone; an orphaned one is still revoked, as Go's Close after Orphan does.
      if (this.#life.error) return;
      try {
        await this.etcd.lease.revoke(this.lease.id, { timeoutMs: this.ttl * 1000 });
      } catch {
        // Best effort: LeaseNotFound means it is gone already; anything else ends with the TTL.
      }
    })();
    return this.#closing;
  }

  /** Same as `close()`, for `await using`. */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }
}
