import { create } from "@bufbuild/protobuf";
import { Code } from "@connectrpc/connect";
import { LeaseKeepAliveRequestSchema, Lease as LeaseService } from "../../gen/etcdserverpb/rpc_pb.js";
import type { UnaryCaller } from "../call/caller.js";
import type { CallOptions } from "../call-options.js";
import { EtcdError } from "../core/errors.js";
import { anySignal } from "../core/signals.js";
import { checkInteger, checkOptionsObject, checkTtl } from "../core/validation.js";
import type { Namespace } from "../namespace/namespace.js";
import { LeaseLostError, LeasesClosedError } from "./errors.js";
import { Lease, type LeaseOwner } from "./lease.js";
import type { LeaseKeeper } from "./lease-keeper.js";

/** Options of {@link Leases.grant} (the call options apply to the grant call, not to keepalives). */
export interface GrantOptions extends CallOptions {
  /** Ask for this lease ID (>= 1). Default: the server picks one. */
  id?: number | bigint | undefined;
  /** Keep the lease alive until `close()` / `revoke()`. Default true. */
  keepAlive?: boolean | undefined;
}

/** Answer of {@link Leases.timeToLive}. */
export interface LeaseTimeToLive {
  /** The lease ID. */
  id: bigint;
  /** Remaining TTL in seconds; -1 when the lease does not exist (expired or revoked). */
  ttl: number;
  /** TTL granted at creation or last refresh, in seconds. */
  grantedTtl: number;
  /**
   * Keys attached to the lease (only when asked with `keys: true`). Through a namespace view: only the keys
   * inside the namespace, without its prefix (as Go's namespace `TimeToLive`).
   */
  keys: Uint8Array[];
}

/**
 * The lease API of a client: grant, revoke, time-to-live, list, and {@link Lease} objects kept alive by
 * one shared keep-alive stream.
 */
export class Leases implements LeaseOwner, AsyncDisposable {
  readonly #keeper: LeaseKeeper;
  readonly #caller: UnaryCaller;
  /** The client's own lease API, for the view of a namespace (which shares its keeper and closed state). */
  readonly #root: Leases | undefined;
  readonly #namespace: Namespace | undefined;
  #closed = false;

  /**
   * @internal Made by the `Etcd` client: its keeper, its call path for every lease RPC. The lease API of a
   * namespace view (`view`) shares its client's keeper and closed state.
   */
  constructor(keeper: LeaseKeeper, caller: UnaryCaller, view?: { root: Leases; namespace: Namespace }) {
    this.#keeper = keeper;
    this.#caller = caller;
    this.#root = view?.root;
    this.#namespace = view?.namespace;
  }

  /** @internal The lease API of a namespace view of this client. */
  _namespace(namespace: Namespace): Leases {
    const root = this.#root ?? this;
    return new Leases(root.#keeper, root.#caller, { root, namespace });
  }

  /**
   * Grants a lease of `ttlSeconds` and (by default) keeps it alive. The returned lease's `grantedTtl`
   * is the TTL the server granted, which drives refreshes.
   */
  async grant(ttlSeconds: number, options: GrantOptions = {}): Promise<Lease> {
    const ttl = checkTtl(ttlSeconds, "ttl");
    this.#checkOpen();
    // The lease's first deadline counts from when the granting request left (the last attempt's send),
    // not from this call: logging in first (a slow password check) or a retry's backoff is no lease time.
    let sentAt = performance.now();
    const onSend = () => {
      sentAt = performance.now();
    };
    const response = await this.#caller.call(
      { method: LeaseService.method.leaseGrant, options: callOptionsOf(options), onSend },
      { TTL: ttl, ID: options.id === undefined ? 0n : checkInteger(options.id, "id", 1) },
    );
    if (response.error) throw new EtcdError(`lease grant failed: ${response.error}`);
    const lease = new Lease(this, response.ID, Number(response.TTL));
    if (options.keepAlive ?? true) this.#keeper.keep(lease, sentAt);
    return lease;
  }

  /**
   * Keeps alive a lease that already exists (granted by another client or process, Go's `KeepAlive(id)`):
   * one refresh now tells its TTL, then it is kept on the shared stream like a granted one. A lease this
   * client already keeps alive is returned as is. Rejects with `LeaseLostError` (`expired`) when the
   * lease does not exist.
   */
  async keepAlive(id: number | bigint, options: CallOptions = {}): Promise<Lease> {
    this.#checkOpen();
    const leaseId = checkInteger(id, "id", 1);
    const kept = this.#keeper.get(leaseId);
    if (kept) return kept;
    const sentAt = performance.now();
    const ttl = await this.keepAliveOnce(leaseId, options);
    this.#checkOpen();
    // Two calls for the same lease may race: the first to get here keeps it.
    const raced = this.#keeper.get(leaseId);
    if (raced) return raced;
    const lease = new Lease(this, leaseId, ttl);
    this.#keeper.keep(lease, sentAt);
    return lease;
  }

  /** Revokes lease `id`: its keys are deleted. Stops keeping it alive if this client did. */
  async revoke(id: number | bigint, options: CallOptions = {}): Promise<void> {
    this.#checkOpen();
    id = checkInteger(id, "id", 1);
    this.#keeper.release(id);
    await this.#caller.call(
      { method: LeaseService.method.leaseRevoke, options: callOptionsOf(options) },
      { ID: id },
    );
  }

  /** Remaining TTL of lease `id` (and its keys with `keys: true`). */
  async timeToLive(
    id: number | bigint,
    options: CallOptions & { keys?: boolean | undefined } = {},
  ): Promise<LeaseTimeToLive> {
    this.#checkOpen();
    id = checkInteger(id, "id", 1);
    const r = await this.#caller.call(
      { method: LeaseService.method.leaseTimeToLive, options: callOptionsOf(options) },
      { ID: id, keys: options.keys ?? false },
    );
    const keys = this.#namespace ? this.#namespace.leaseKeys(r.keys) : r.keys;
    return { id: r.ID, ttl: Number(r.TTL), grantedTtl: Number(r.grantedTTL), keys };
  }

  /** IDs of every lease the cluster holds. */
  async leases(options: CallOptions = {}): Promise<bigint[]> {
    this.#checkOpen();
    const r = await this.#caller.call(
      { method: LeaseService.method.leaseLeases, options: callOptionsOf(options) },
      {},
    );
    return r.leases.map((l) => l.ID);
  }

  /**
   * Refreshes lease `id` once, on a short stream of its own (not the shared one), through the client's
   * call path (auth, retries of a stream that never opened, typed errors). Resolves with the TTL granted
   * in seconds; rejects with a {@link LeaseLostError} when the server answers TTL 0.
   */
  async keepAliveOnce(id: number | bigint, options: CallOptions = {}): Promise<number> {
    this.#checkOpen();
    const leaseId = checkInteger(id, "id", 1);
    const spec = { method: LeaseService.method.leaseKeepAlive, options: callOptionsOf(options) };
    const ttl = await this.#caller.run(spec, async (channel, remainingMs) => {
      const done = new AbortController();
      const limit = anySignal([done.signal, options.signal], remainingMs);
      const signal = limit.signal;
      const request = create(LeaseKeepAliveRequestSchema, { ID: leaseId });
      const stream = await channel.open(spec, oneThenWait(request, signal), signal);
      try {
        for await (const response of stream.messages) return Number(response.TTL);
        throw new EtcdError(`keepalive stream for lease ${id} ended without an answer`, {
          code: Code.Unavailable,
          endpoint: channel.endpoint,
        });
      } catch (err) {
        throw channel.failure(err, stream.token);
      } finally {
        done.abort();
      }
    });
    if (ttl <= 0) throw new LeaseLostError(leaseId, "expired");
    return ttl;
  }

  /**
   * Stops keeping leases alive (they end `closed`, not revoked) and releases the stream. On the lease API
   * of a namespace view it does nothing: the keeper is its client's, and `etcd.close()` closes it.
   */
  async close(): Promise<void> {
    if (this.#root) return;
    this.#closed = true;
    await this.#keeper.close();
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  /** @internal {@link LeaseOwner}: a lease was closed by its user. */
  release(id: bigint): void {
    this.#keeper.release(id);
  }

  #checkOpen(): void {
    if ((this.#root ?? this).#closed) throw new LeasesClosedError();
  }
}

/**
 * Only the fields a call uses, so callers' extra fields (keys, id) do not leak into call options. Checks
 * first that `options` is an object: each method reads it before anything is sent.
 */
function callOptionsOf(options: CallOptions): CallOptions {
  checkOptionsObject(options);
  return {
    ...(options.signal ? { signal: options.signal } : {}),
    ...(options.timeoutMs !== undefined ? { timeoutMs: options.timeoutMs } : {}),
    ...(options.metadata !== undefined ? { metadata: options.metadata } : {}),
  };
}

/** A request stream that sends one message and stays open until `signal` aborts (closing the send side early would end the call). */
async function* oneThenWait<T>(message: T, signal: AbortSignal): AsyncGenerator<T> {
  yield message;
  await new Promise<void>((resolve) => {
    if (signal.aborted) return resolve();
    signal.addEventListener("abort", () => resolve(), { once: true });
  });
}
