import { LeaseNotFoundError } from "../errors.js";
import type { Etcd } from "../etcd.js";
import type { Lease } from "../lease/lease.js";

/** Options of {@link Session.create}. */
export interface SessionOptions {
  /** Lease TTL in seconds. Default 60 (Go's `defaultSessionTTL`). Ignored with `lease`. */
  ttl?: number;
  /**
   * Use this existing lease instead of granting one (Go's `concurrency.WithLease`): it is kept alive by
   * this client (`etcd.lease.keepAlive(id)`), and `close()` revokes it. Default: a new lease.
   */
  lease?: number | bigint;
  /** Aborts the lease grant. */
  signal?: AbortSignal;
}

/**
 * A lease kept alive for the recipes built on it (Go's `concurrency.Session`): every lock and election
 * key of the session is attached to it, so they vanish when the session ends or is lost. `done`
 * resolves when the lease is no longer kept alive (lost, closed or orphaned); `lost` rejects with the
 * lease's `LeaseLostError` when it is lost.
 */
export class Session implements AsyncDisposable {
  /** The client the session's keys are written with. */
  readonly etcd: Etcd;
  /** The kept-alive lease. */
  readonly lease: Lease;
  /** The TTL asked for, in seconds. */
  readonly ttl: number;
  readonly #done: Promise<void>;

  private constructor(etcd: Etcd, lease: Lease, ttl: number) {
    this.etcd = etcd;
    this.lease = lease;
    this.ttl = ttl;
    // Every held lock and election listens for loss: more than EventEmitter's default 10 is normal.
    lease.setMaxListeners(0);
    this.#done = new Promise<void>((resolve) => {
      if (lease.state !== "alive") return resolve();
      lease.once("lost", () => resolve());
      lease.once("closed", () => resolve());
    });
  }

  /** Grants a lease of `ttl` seconds (default 60), or takes the existing `lease`, and keeps it alive. */
  static async create(etcd: Etcd, options: SessionOptions = {}): Promise<Session> {
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

  /** Resolves once the lease is no longer kept alive: lost, closed or orphaned (Go's `Done()`). */
  get done(): Promise<void> {
    return this.#done;
  }

  /** Rejects with a `LeaseLostError` when the lease is lost; stays pending otherwise. */
  get lost(): Promise<never> {
    return this.lease.lost;
  }

  /** True until the lease is lost, closed or orphaned. */
  get alive(): boolean {
    return this.lease.state === "alive";
  }

  /**
   * Calls `listener` once if the lease is lost (at once if it already was); returns a function that
   * removes it. Unlike chaining on `lost`, nothing is retained after removal, so a long-lived session
   * can serve any number of locks.
   */
  onLost(listener: (error: unknown) => void): () => void {
    if (this.lease.state === "lost") {
      listener(this.lease.error);
      return () => {};
    }
    this.lease.once("lost", listener);
    return () => this.lease.off("lost", listener);
  }

  /** Stops keeping the lease alive without revoking it: its keys live until the TTL runs out (Go's `Orphan`). */
  orphan(): void {
    this.lease.close();
  }

  /**
   * Ends the session: stops the keepalive and revokes the lease, which deletes every key of the
   * session (releasing its locks and leaderships). The revoke is bounded by the TTL: past it the lease
   * has expired anyway. A revoke that fails on an already-gone lease is not an error.
   */
  async close(): Promise<void> {
    const wasAlive = this.lease.state === "alive";
    this.lease.close();
    if (!wasAlive && this.lease.state === "lost") return;
    try {
      await this.etcd.lease.revoke(this.lease.id, { timeoutMs: this.ttl * 1000 });
    } catch (err) {
      if (!(err instanceof LeaseNotFoundError)) throw err;
    }
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }
}
