import { create } from "@bufbuild/protobuf";
import { Code, ConnectError, createClient } from "@connectrpc/connect";
import {
  type LeaseKeepAliveRequest,
  LeaseKeepAliveRequestSchema,
  type LeaseKeepAliveResponse,
  Lease as LeaseService,
} from "../../gen/etcdserverpb/rpc_pb.js";
import type { TransportPool } from "../connection/transport-pool.js";
import { Backoff, type BackoffOptions, sleep } from "../stream/backoff.js";
import { QueuedIterator } from "../stream/queued-iterator.js";
import { DeadlineMonitor } from "./deadline-monitor.js";
import { LeaseLostError } from "./errors.js";
import type { Lease } from "./lease.js";

/** Options of {@link LeaseKeeper}. */
export interface LeaseKeeperOptions {
  /** Backoff between attempts to reopen the keepalive stream. Default `{ initialMs: 50, maxMs: 2000 }`. */
  backoff?: BackoffOptions;
  /** Send `hasleader` so a member without a leader fails the stream instead of hanging. Default true. */
  requireLeader?: boolean;
  /**
   * A keepalive unanswered for this long (or for a third of the lease's TTL, if shorter) means the stream
   * is dead (e.g. a frozen member): it is abandoned, the endpoint marked failed, and the stream reopened.
   * Default 2000 ms.
   */
  responseTimeoutMs?: number;
  /**
   * Subtracted from each lease's deadline so loss is reported before the server's own expiry; capped at a
   * quarter of the TTL. Default 500 ms.
   */
  safetyMarginMs?: number;
}

interface KeptLease {
  lease: Lease;
  monitor: DeadlineMonitor;
  /** Timer of the next scheduled refresh. */
  refreshTimer: ReturnType<typeof setTimeout> | undefined;
  /** Send time of the oldest unanswered keepalive on the current stream. */
  pendingSince: number | undefined;
}

interface OpenStream {
  requests: QueuedIterator<LeaseKeepAliveRequest>;
  abort: AbortController;
  endpoint: string;
}

/**
 * Keeps every lease of a client alive over ONE bidirectional `LeaseKeepAlive` stream. Each lease is
 * refreshed at a third of the TTL the server granted (the answer's TTL, not the one asked for). When the
 * stream breaks it is reopened with backoff (on another endpoint if the pool moves on) and every lease is
 * refreshed at once. Loss detection is the {@link DeadlineMonitor}'s job: TTL 0 from the server, or no
 * answer before `sentAt + TTL - margin`, declares the lease lost.
 */
export class LeaseKeeper implements AsyncDisposable {
  readonly #pool: TransportPool;
  readonly #backoff: Backoff;
  readonly #requireLeader: boolean;
  readonly #responseTimeoutMs: number;
  readonly #safetyMarginMs: number;
  readonly #kept = new Map<bigint, KeptLease>();
  readonly #closing = new AbortController();
  #stream: OpenStream | undefined;
  #wakeLoop: (() => void) | undefined;
  #loop: Promise<void> | undefined;
  #watchdog: ReturnType<typeof setInterval> | undefined;

  constructor(pool: TransportPool, options: LeaseKeeperOptions = {}) {
    this.#pool = pool;
    this.#backoff = new Backoff({ initialMs: 50, maxMs: 2000, ...options.backoff });
    this.#requireLeader = options.requireLeader ?? true;
    this.#responseTimeoutMs = options.responseTimeoutMs ?? 2000;
    this.#safetyMarginMs = options.safetyMarginMs ?? 500;
  }

  /** Number of leases being kept alive. */
  get size(): number {
    return this.#kept.size;
  }

  /** The endpoint of the open keepalive stream, if any (for diagnostics and tests). */
  get endpoint(): string | undefined {
    return this.#stream?.endpoint;
  }

  /**
   * Starts keeping `lease` alive. `grantSentAt` is when the grant (or last refresh) request was sent: the
   * first deadline counts from it.
   */
  keep(lease: Lease, grantSentAt: number): void {
    if (this.#closing.signal.aborted) throw new Error("LeaseKeeper is closed");
    const kept: KeptLease = {
      lease,
      monitor: new DeadlineMonitor({
        onExpired: () => this.#lose(lease.id, new LeaseLostError(lease.id, "deadline")),
      }),
      refreshTimer: undefined,
      pendingSince: undefined,
    };
    this.#kept.set(lease.id, kept);
    kept.monitor.refresh(grantSentAt, lease.grantedTtl * 1000, this.#margin(lease.grantedTtl));
    this.#schedule(kept, (lease.grantedTtl * 1000) / 3);
    this.#ensureLoop();
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
    if (this.#closing.signal.aborted) return this.#loop;
    this.#closing.abort();
    for (const kept of [...this.#kept.values()]) {
      this.#forget(kept);
      kept.lease._markClosed();
    }
    this.#wakeLoop?.();
    this.#stream?.abort.abort();
    await this.#loop;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  #margin(ttlSeconds: number): number {
    return Math.min(this.#safetyMarginMs, (ttlSeconds * 1000) / 4);
  }

  #forget(kept: KeptLease): void {
    clearTimeout(kept.refreshTimer);
    kept.monitor.stop();
    this.#kept.delete(kept.lease.id);
  }

  #lose(id: bigint, error: LeaseLostError): void {
    const kept = this.#kept.get(id);
    if (!kept) return;
    this.#forget(kept);
    kept.lease._markLost(error);
  }

  #schedule(kept: KeptLease, delayMs: number): void {
    clearTimeout(kept.refreshTimer);
    kept.refreshTimer = setTimeout(() => this.#send(kept), Math.max(0, delayMs));
    kept.refreshTimer.unref?.();
  }

  #send(kept: KeptLease): void {
    clearTimeout(kept.refreshTimer);
    kept.refreshTimer = undefined;
    const stream = this.#stream;
    // No stream now: the loop refreshes every lease as soon as the next one opens.
    if (!stream || !this.#kept.has(kept.lease.id)) return;
    // One keepalive in flight per lease: its answer schedules the next; the watchdog covers a lost one.
    if (kept.pendingSince !== undefined) return;
    kept.pendingSince = Date.now();
    stream.requests.push(create(LeaseKeepAliveRequestSchema, { ID: kept.lease.id }));
  }

  #ensureLoop(): void {
    if (this.#loop) {
      this.#wakeLoop?.();
      return;
    }
    this.#loop = this.#run().catch(() => {});
  }

  async #run(): Promise<void> {
    const closing = this.#closing.signal;
    while (!closing.aborted) {
      if (this.#kept.size === 0) {
        await new Promise<void>((resolve) => {
          this.#wakeLoop = resolve;
        });
        this.#wakeLoop = undefined;
        continue;
      }
      const broke = await this.#runStream();
      if (closing.aborted) break;
      if (broke) this.#pool.markFailed(broke);
      await sleep(this.#backoff.next(), closing);
    }
  }

  /** Runs one stream until it ends; returns the endpoint when it failed, undefined when it ended idle. */
  async #runStream(): Promise<string | undefined> {
    const { endpoint, transport } = this.#pool.pick();
    const stream: OpenStream = {
      requests: new QueuedIterator<LeaseKeepAliveRequest>(),
      abort: new AbortController(),
      endpoint,
    };
    const onClose = () => stream.abort.abort();
    this.#closing.signal.addEventListener("abort", onClose, { once: true });
    this.#stream = stream;
    for (const kept of this.#kept.values()) {
      kept.pendingSince = undefined;
      this.#send(kept);
    }
    this.#startWatchdog(stream);
    try {
      const headers = await this.#pool.metadata({ requireLeader: this.#requireLeader });
      const client = createClient(LeaseService, transport);
      for await (const response of client.leaseKeepAlive(stream.requests, {
        signal: stream.abort.signal,
        headers,
      })) {
        this.#backoff.reset();
        this.#onResponse(response);
      }
      return endpoint;
    } catch (err) {
      if (err instanceof ConnectError && err.code === Code.Canceled && this.#closing.signal.aborted)
        return undefined;
      return endpoint;
    } finally {
      this.#closing.signal.removeEventListener("abort", onClose);
      clearInterval(this.#watchdog);
      this.#watchdog = undefined;
      stream.requests.end();
      stream.abort.abort();
      if (this.#stream === stream) this.#stream = undefined;
    }
  }

  #onResponse(response: LeaseKeepAliveResponse): void {
    const kept = this.#kept.get(response.ID);
    if (!kept) return;
    const sentAt = kept.pendingSince ?? Date.now();
    kept.pendingSince = undefined;
    const ttl = Number(response.TTL);
    if (ttl <= 0) {
      this.#lose(response.ID, new LeaseLostError(response.ID, "expired"));
      return;
    }
    kept.monitor.refresh(sentAt, ttl * 1000, this.#margin(ttl));
    this.#schedule(kept, (ttl * 1000) / 3);
    kept.lease._refreshed({ id: response.ID, ttl, revision: response.header?.revision ?? 0n });
  }

  /** Abandons the stream when a keepalive stays unanswered for `responseTimeoutMs`. */
  #startWatchdog(stream: OpenStream): void {
    const period = Math.max(50, Math.min(this.#responseTimeoutMs / 4, 250));
    this.#watchdog = setInterval(() => {
      const now = Date.now();
      for (const kept of this.#kept.values()) {
        // A short lease cannot wait the full timeout: give up on the stream after a third of its TTL.
        const limit = Math.min(this.#responseTimeoutMs, (kept.lease.ttl * 1000) / 3);
        if (kept.pendingSince !== undefined && now - kept.pendingSince > limit) {
          stream.abort.abort(new Error(`keepalive unanswered for ${Math.round(limit)} ms`));
          return;
        }
      }
    }, period);
    this.#watchdog.unref?.();
  }
}
