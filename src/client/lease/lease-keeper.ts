import {
  type LeaseKeepAliveRequestSchema,
  type LeaseKeepAliveResponse,
  type LeaseKeepAliveResponseSchema,
  Lease as LeaseService,
} from "../../gen/etcdserverpb/rpc_pb.js";
import type { ConnectionPool } from "../call/pool.js";
import {
  type LiveStream,
  ResilientStream,
  type StreamOwner,
  type StreamSettings,
} from "../call/resilient-stream.js";
import { DeadlineQueue } from "../core/deadline-queue.js";
import type { EtcdError } from "../core/errors.js";
import type { ProcessRef, RefRelease } from "../core/process-ref.js";
import type { DiagnosticsChannels } from "../diagnostics/channels.js";
import { LeaseLostError, LeasesClosedError } from "./errors.js";
import { KeptLease, type KeptLeaseOwner } from "./kept-lease.js";
import type { Lease } from "./lease.js";

/** Settings of a {@link LeaseKeeper}: its stream's, and the loss margin. */
export interface LeaseKeeperSettings extends StreamSettings {
  /**
   * Subtracted from each lease's deadline so loss is reported before the server's own expiry; capped at a
   * quarter of the TTL.
   */
  readonly safetyMarginMs: number;
}

type KeepAliveStream = LiveStream<typeof LeaseKeepAliveRequestSchema>;

/**
 * Keeps every lease of a client alive over ONE bidirectional `LeaseKeepAlive` stream (kept open by a
 * {@link ResilientStream}). Each lease is refreshed at a third of the TTL the server granted (the answer's
 * TTL, not the one asked for). When the stream breaks it is reopened with backoff (on another endpoint if
 * the pool moves on) and every lease is refreshed at once. A lease is lost on TTL 0 from the server, or
 * when no answer came before `sentAt + TTL - margin` ({@link KeptLease}). Every lease's next refresh and
 * loss deadline sit on ONE {@link DeadlineQueue} (one unref'd timer), not two Node timers per lease.
 * A keepalive unanswered for a third of the shortest TTL (or the stream's answer timeout, if shorter)
 * means the stream is dead: it is abandoned and reopened.
 */
export class LeaseKeeper
  implements
    StreamOwner<typeof LeaseKeepAliveRequestSchema, typeof LeaseKeepAliveResponseSchema>,
    KeptLeaseOwner,
    AsyncDisposable
{
  readonly #stream: ResilientStream<typeof LeaseKeepAliveRequestSchema, typeof LeaseKeepAliveResponseSchema>;
  readonly #safetyMarginMs: number;
  readonly #processRef: ProcessRef;
  readonly #kept = new Map<bigint, KeptLease>();
  /** Every kept lease's next refresh or loss deadline, on one timer. */
  readonly #timers = new DeadlineQueue();
  #closed = false;
  #release: RefRelease | undefined;
  /** Shortest granted TTL among kept leases, seconds; undefined when it must be recomputed. */
  #shortestTtl: number | undefined;

  /** Where lease losses are published. */
  readonly #diagnostics: DiagnosticsChannels;

  constructor(pool: ConnectionPool, settings: LeaseKeeperSettings, processRef: ProcessRef) {
    this.#safetyMarginMs = settings.safetyMarginMs;
    this.#processRef = processRef;
    this.#stream = new ResilientStream(pool, LeaseService.method.leaseKeepAlive, this, settings);
    this.#diagnostics = pool.diagnostics;
  }

  /** Number of leases being kept alive. */
  get size(): number {
    return this.#kept.size;
  }

  /** The endpoint of the open keepalive stream, if any (for diagnostics). */
  get endpoint(): string | undefined {
    return this.#stream.live?.endpoint;
  }

  /** The lease kept alive under `id`, if this keeper keeps it. */
  get(id: bigint): Lease | undefined {
    return this.#kept.get(id)?.lease;
  }

  /**
   * Starts keeping `lease` alive. `grantSentAt` is when the grant (or last refresh) request was sent, on
   * the `performance.now()` clock: the first deadline counts from it.
   */
  keep(lease: Lease, grantSentAt: number): void {
    if (this.#closed) throw new LeasesClosedError();
    const kept = new KeptLease(lease, this);
    this.#kept.set(lease.id, kept);
    this.#release ??= this.#processRef.acquire();
    if (this.#shortestTtl !== undefined && lease.grantedTtl < this.#shortestTtl)
      this.#shortestTtl = lease.grantedTtl;
    const ttlMs = lease.grantedTtl * 1000;
    kept.refreshed(grantSentAt, ttlMs, this.#margin(lease.grantedTtl), performance.now());
    this.#arm(kept);
    this.#stream.wake();
  }

  /** Stops keeping lease `id` alive (no revoke); its {@link Lease} ends as `closed`. */
  release(id: bigint): void {
    const kept = this.#kept.get(id);
    if (!kept) return;
    this.#forget(kept);
    kept.lease._markClosed();
  }

  /** Stops the stream, every timer and keeps no lease alive any more (leases end as `closed`). */
  async close(): Promise<void> {
    if (!this.#closed) {
      this.#closed = true;
      for (const kept of [...this.#kept.values()]) {
        this.#forget(kept);
        kept.lease._markClosed();
      }
      this.#timers.close();
    }
    await this.#stream.close();
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  /** @internal {@link StreamOwner}: a stream is wanted while any lease is kept alive. */
  wanted(): boolean {
    return this.#kept.size > 0;
  }

  /** @internal {@link StreamOwner}: a new stream: every lease is refreshed at once. */
  opened(live: KeepAliveStream): void {
    for (const kept of this.#kept.values()) {
      kept.pendingSince = undefined;
      this.#send(kept, live);
    }
  }

  /** @internal {@link StreamOwner}: one keepalive answer. */
  received(live: KeepAliveStream, response: LeaseKeepAliveResponse): void {
    const kept = this.#kept.get(response.ID);
    if (!kept) return;
    const now = performance.now();
    const sentAt = kept.pendingSince ?? now;
    kept.pendingSince = undefined;
    const ttl = Number(response.TTL);
    if (ttl <= 0) {
      this.#lose(response.ID, new LeaseLostError(response.ID, "expired"));
      return;
    }
    live.healthy();
    kept.refreshed(sentAt, ttl * 1000, this.#margin(ttl), now);
    this.#arm(kept);
    kept.lease._refreshed(ttl, response.header?.revision ?? 0n);
  }

  /** @internal {@link StreamOwner}: the stream is over; the next one refreshes every lease. */
  ended(_live: KeepAliveStream): void {
    for (const kept of this.#kept.values()) kept.pendingSince = undefined;
  }

  /** @internal {@link StreamOwner}: wrong credentials or a refused fixed token: no lease can be kept alive. */
  failed(error: EtcdError): void {
    for (const kept of [...this.#kept.values()])
      this.#lose(kept.lease.id, new LeaseLostError(kept.lease.id, "deadline", { cause: error }));
  }

  /** @internal {@link StreamOwner}: a short lease cannot wait long for its answer: a third of the shortest TTL. */
  answerTimeoutMs(): number {
    if (this.#shortestTtl === undefined) {
      let shortest = Number.POSITIVE_INFINITY;
      for (const kept of this.#kept.values()) shortest = Math.min(shortest, kept.lease.grantedTtl);
      this.#shortestTtl = shortest;
    }
    return (this.#shortestTtl * 1000) / 3;
  }

  #margin(ttlSeconds: number): number {
    return Math.min(this.#safetyMarginMs, (ttlSeconds * 1000) / 4);
  }

  #forget(kept: KeptLease): void {
    if (kept.handle) this.#timers.remove(kept.handle);
    kept.handle = undefined;
    this.#kept.delete(kept.lease.id);
    if (kept.lease.grantedTtl === this.#shortestTtl) this.#shortestTtl = undefined;
    if (this.#kept.size === 0) {
      this.#release?.();
      this.#release = undefined;
      this.#stream.idle();
    }
  }

  #lose(id: bigint, error: LeaseLostError): void {
    const kept = this.#kept.get(id);
    if (!kept) return;
    this.#forget(kept);
    kept.lease._markLost(error);
    const { leaseLost } = this.#diagnostics;
    if (leaseLost.hasSubscribers) leaseLost.publish({ leaseId: id, reason: error.reason, error });
  }

  /** @internal {@link KeptLeaseOwner}: `kept`'s refresh or loss deadline came due. */
  onDue(kept: KeptLease): void {
    if (this.#kept.get(kept.lease.id) !== kept) return;
    const due = kept.due(performance.now());
    if (due === "lost") {
      this.#lose(kept.lease.id, new LeaseLostError(kept.lease.id, "deadline"));
      return;
    }
    if (due === "refresh") this.#send(kept, this.#stream.live);
    this.#arm(kept);
  }

  /** Puts `kept` on the queue at its next refresh or deadline (the queue never fires early). */
  #arm(kept: KeptLease): void {
    const at = kept.nextAt;
    if (kept.handle?.at === at) return;
    if (kept.handle) this.#timers.remove(kept.handle);
    kept.handle =
      at === Number.POSITIVE_INFINITY ? undefined : this.#timers.add(kept, at - performance.now());
  }

  #send(kept: KeptLease, live: KeepAliveStream | undefined): void {
    // The refresh is taken: the next one is scheduled by its answer, or by the next stream's opening.
    kept.refreshAt = Number.POSITIVE_INFINITY;
    // No stream now: every lease is refreshed as soon as the next one opens.
    if (!live || !this.#kept.has(kept.lease.id)) return;
    // One keepalive in flight per lease: its answer schedules the next.
    if (kept.pendingSince !== undefined) return;
    kept.pendingSince = performance.now();
    // An init object, not a message made with create(): the codec encodes either, and 10,000 leases
    // send one of these every few milliseconds.
    live.send({ ID: kept.lease.id });
  }
}
