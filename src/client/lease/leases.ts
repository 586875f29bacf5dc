import {
  create,
  type DescMessage,
  type DescMethodUnary,
  type MessageInitShape,
  type MessageShape,
} from "@bufbuild/protobuf";
import { Code, ConnectError, createClient, type Transport } from "@connectrpc/connect";
import { LeaseKeepAliveRequestSchema, Lease as LeaseService } from "../../gen/etcdserverpb/rpc_pb.js";
import type { CallOptions } from "../call-options.js";
import type { RetryKind } from "../connection/retry.js";
import type { TransportPool } from "../connection/transport-pool.js";
import { EtcdError, toEtcdError } from "../errors.js";
import { checkTtl } from "../validation.js";
import { LeaseLostError, LeasesClosedError } from "./errors.js";
import { Lease, type LeaseOwner } from "./lease.js";
import { LeaseKeeper, type LeaseKeeperOptions } from "./lease-keeper.js";

/** Options of {@link Leases}; see {@link LeaseKeeperOptions} for the keepalive stream. */
export interface LeasesOptions extends LeaseKeeperOptions {
  /**
   * Runs the unary Lease RPCs (grant, revoke, timeToLive, leases). The `Etcd` client passes its own
   * caller: deadlines, the retry table (a grant or revoke is retried only when it provably never left),
   * auth re-authentication and typed errors. Default: one attempt on `pool.pick()`, errors as `EtcdError`.
   */
  unary?: LeaseUnaryRunner;
}

/** Runs one unary RPC with a retry kind and per-call options; see {@link LeasesOptions.unary}. */
export type LeaseUnaryRunner = <I extends DescMessage, O extends DescMessage>(
  method: DescMethodUnary<I, O>,
  input: MessageInitShape<I>,
  kind: RetryKind,
  options?: CallOptions,
) => Promise<MessageShape<O>>;

/** Options of {@link Leases.grant}. */
export interface GrantOptions {
  /** Ask for this lease ID. Default: the server picks one. */
  id?: bigint;
  /** Keep the lease alive until `close()` / `revoke()`. Default true. */
  keepAlive?: boolean;
  /** Aborts the grant call. */
  signal?: AbortSignal;
}

/** Answer of {@link Leases.timeToLive}. */
export interface LeaseTimeToLive {
  /** The lease ID. */
  id: bigint;
  /** Remaining TTL in seconds; -1 when the lease does not exist (expired or revoked). */
  ttl: number;
  /** TTL granted at creation or last refresh, in seconds. */
  grantedTtl: number;
  /** Keys attached to the lease (only when asked with `keys: true`). */
  keys: Uint8Array[];
}

/**
 * The lease API of a client: grant, revoke, time-to-live, list, and {@link Lease} objects kept alive by
 * one shared {@link LeaseKeeper}.
 */
export class Leases implements LeaseOwner, AsyncDisposable {
  readonly #pool: TransportPool;
  readonly #keeper: LeaseKeeper;
  readonly #requireLeader: boolean;
  readonly #unary: LeaseUnaryRunner;
  #closed = false;

  constructor(pool: TransportPool, options: LeasesOptions = {}) {
    this.#pool = pool;
    this.#keeper = new LeaseKeeper(pool, options);
    this.#requireLeader = options.requireLeader ?? true;
    this.#unary =
      options.unary ?? ((method, input, _kind, callOptions) => this.#callOnce(method, input, callOptions));
  }

  /** The shared keeper (exposed for diagnostics: which endpoint its stream is on, how many leases). */
  get keeper(): LeaseKeeper {
    return this.#keeper;
  }

  /**
   * Grants a lease of `ttlSeconds` and (by default) keeps it alive. The returned lease's `grantedTtl`
   * is the TTL the server granted, which drives refreshes.
   */
  async grant(ttlSeconds: number, options: GrantOptions = {}): Promise<Lease> {
    const ttl = checkTtl(ttlSeconds, "ttl");
    this.#checkOpen();
    const sentAt = Date.now();
    const response = await this.#unary(
      LeaseService.method.leaseGrant,
      { TTL: ttl, ID: options.id ?? 0n },
      "write",
      callOptionsOf(options),
    );
    if (response.error) throw new EtcdError(`lease grant failed: ${response.error}`);
    const lease = new Lease(this, response.ID, Number(response.TTL));
    if (options.keepAlive ?? true) this.#keeper.keep(lease, sentAt);
    return lease;
  }

  /** Revokes lease `id`: its keys are deleted. Stops keeping it alive if this client did. */
  async revoke(id: bigint, options: CallOptions = {}): Promise<void> {
    this.#checkOpen();
    this.#keeper.release(id);
    await this.#unary(LeaseService.method.leaseRevoke, { ID: id }, "write", callOptionsOf(options));
  }

  /** Remaining TTL of lease `id` (and its keys with `keys: true`). */
  async timeToLive(id: bigint, options: CallOptions & { keys?: boolean } = {}): Promise<LeaseTimeToLive> {
    this.#checkOpen();
    const r = await this.#unary(
      LeaseService.method.leaseTimeToLive,
      { ID: id, keys: options.keys ?? false },
      "idempotent",
      callOptionsOf(options),
    );
    return { id: r.ID, ttl: Number(r.TTL), grantedTtl: Number(r.grantedTTL), keys: r.keys };
  }

  /** IDs of every lease the cluster holds. */
  async leases(options: CallOptions = {}): Promise<bigint[]> {
    this.#checkOpen();
    const r = await this.#unary(LeaseService.method.leaseLeases, {}, "idempotent", callOptionsOf(options));
    return r.leases.map((l) => l.ID);
  }

  /**
   * Refreshes lease `id` once, on a short stream of its own (not the shared one). Resolves with the TTL
   * granted in seconds; rejects with a {@link LeaseLostError} when the server answers TTL 0.
   */
  async keepAliveOnce(id: bigint, options: { signal?: AbortSignal } = {}): Promise<number> {
    this.#checkOpen();
    const ttl = await this.#call(async (transport, headers) => {
      const client = createClient(LeaseService, transport);
      const abort = new AbortController();
      const onAbort = () => abort.abort(options.signal?.reason);
      options.signal?.addEventListener("abort", onAbort, { once: true });
      try {
        const request = create(LeaseKeepAliveRequestSchema, { ID: id });
        for await (const response of client.leaseKeepAlive(oneThenWait(request, abort.signal), {
          headers,
          signal: abort.signal,
        })) {
          return Number(response.TTL);
        }
        throw new EtcdError(`keepalive stream for lease ${id} ended without an answer`, {
          code: Code.Unavailable,
        });
      } finally {
        options.signal?.removeEventListener("abort", onAbort);
        abort.abort();
      }
    });
    if (ttl <= 0) throw new LeaseLostError(id, "expired");
    return ttl;
  }

  /** Stops keeping leases alive (they end `closed`, not revoked) and releases the stream. */
  async close(): Promise<void> {
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
    if (this.#closed) throw new LeasesClosedError();
  }

  /** The standalone runner: one attempt on the pool's pick, errors mapped to `EtcdError`. */
  #callOnce<I extends DescMessage, O extends DescMessage>(
    method: DescMethodUnary<I, O>,
    input: MessageInitShape<I>,
    options: CallOptions | undefined,
  ): Promise<MessageShape<O>> {
    return this.#call(
      async (transport, headers) =>
        (await transport.unary(method, options?.signal, options?.timeoutMs, headers, input)).message,
    );
  }

  /**
   * Runs `run` once on the pool's pick with the call metadata; an UNAVAILABLE failure marks the endpoint
   * failed, and every error leaves as an `EtcdError` naming the endpoint.
   */
  async #call<R>(run: (transport: Transport, headers: Headers) => Promise<R>): Promise<R> {
    const { endpoint, transport } = this.#pool.pick();
    try {
      const headers = await this.#pool.metadata({ requireLeader: this.#requireLeader });
      return await run(transport, headers);
    } catch (err) {
      if (err instanceof ConnectError && err.code === Code.Unavailable) this.#pool.markFailed(endpoint);
      throw toEtcdError(err, endpoint);
    }
  }
}

/** Only the fields a call uses, so callers' extra fields (keys, id) do not leak into call options. */
function callOptionsOf(options: CallOptions): CallOptions {
  return {
    ...(options.signal ? { signal: options.signal } : {}),
    ...(options.timeoutMs !== undefined ? { timeoutMs: options.timeoutMs } : {}),
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
