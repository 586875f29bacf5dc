import { create } from "@bufbuild/protobuf";
import { Code, ConnectError, createClient } from "@connectrpc/connect";
import {
  KV,
  RangeRequestSchema,
  WatchCreateRequest_FilterType,
  type WatchRequest,
  WatchRequestSchema,
  type WatchResponse,
  Watch as WatchService,
} from "../../gen/etcdserverpb/rpc_pb.js";
import type { TransportPool } from "../connection/transport-pool.js";
import { Backoff, type BackoffOptions, sleep } from "../stream/backoff.js";
import { QueuedIterator } from "../stream/queued-iterator.js";
import { WatchCanceledError, WatchCompactedError, WatchHubClosedError } from "./errors.js";
import { FragmentAssembler } from "./fragments.js";
import { keyBytes, ownRange } from "./key-range.js";
import { createStartRevision, dropSeen, nextAfterCreated, nextAfterEvents } from "./resume.js";
import type { WatchOptions } from "./types.js";
import { Watcher, type WatcherOwner } from "./watcher.js";

/** Options of {@link WatchHub}. */
export interface WatchHubOptions {
  /** Backoff between attempts to reopen the watch stream. Default `{ initialMs: 50, maxMs: 2000 }`. */
  backoff?: BackoffOptions;
  /** Send `hasleader` so a member cut off from the leader fails the stream (and is abandoned). Default true. */
  requireLeader?: boolean;
  /**
   * Per-watch bound of delivered-but-unconsumed events. Above it the watch is canceled on the server
   * (nothing is dropped: what was delivered stays buffered) and re-created from its resume point once the
   * consumer drained half of it. Default 10000.
   */
  maxBufferedEvents?: number;
  /**
   * Liveness of the stream, independent of the transport's own pings: after this long without any answer
   * the hub sends a progress request, and abandons the stream (marking the endpoint failed) if that gets
   * no answer within `probeTimeoutMs`. Default 5000 ms. 0 turns the probe off.
   */
  idleTimeoutMs?: number;
  /** How long a liveness probe may stay unanswered. Default 2000 ms. */
  probeTimeoutMs?: number;
}

/** One open `Watch` stream and what is bound to it. */
interface Session {
  readonly endpoint: string;
  readonly requests: QueuedIterator<WatchRequest>;
  readonly abort: AbortController;
  /** Watches waiting for `created`, in the order their creates go out; the head's create is in flight. */
  readonly createQueue: Watcher[];
  createInFlight: boolean;
  readonly byId: Map<bigint, Watcher>;
  /** Ids this client canceled (paused or closed watches): their late responses are dropped. */
  readonly ignored: Set<bigint>;
  readonly fragments: FragmentAssembler;
  /** When the last answer arrived (ms since epoch). */
  lastAnswerAt: number;
  /** Send time of the unanswered liveness probe, if any. */
  probeSentAt: number | undefined;
  /** Progress answers owed to `requestProgress()` callers (delivered) and to probes (swallowed). */
  progressForUser: number;
  progressForProbe: number;
}

const INVALID_WATCH_ID = -1n;

/**
 * Every watch of a client on ONE bidirectional `Watch` stream. Creates go out one at a time, in order,
 * and are matched to `created` answers by position (as etcd answers them in order). On any break the
 * stream is reopened (on another endpoint if the pool moves on) and every watch is re-created from its
 * own resume point, so each consumer sees every revision once, in order. See
 * docs/leases-and-watches.md for the state model and the backpressure policy.
 */
export class WatchHub implements WatcherOwner, AsyncDisposable {
  readonly #pool: TransportPool;
  readonly #backoff: Backoff;
  readonly #requireLeader: boolean;
  readonly #maxBufferedEvents: number;
  readonly #idleTimeoutMs: number;
  readonly #probeTimeoutMs: number;
  /** Live watches, in creation order. */
  readonly #watchers = new Set<Watcher>();
  readonly #closing = new AbortController();
  #session: Session | undefined;
  #loop: Promise<void> | undefined;
  #wakeLoop: (() => void) | undefined;
  /** Streams opened so far (diagnostics, tests). */
  streamsOpened = 0;
  /** Liveness probes sent so far (diagnostics, tests). */
  probesSent = 0;

  constructor(pool: TransportPool, options: WatchHubOptions = {}) {
    this.#pool = pool;
    this.#backoff = new Backoff({ initialMs: 50, maxMs: 2000, ...options.backoff });
    this.#requireLeader = options.requireLeader ?? true;
    this.#maxBufferedEvents = options.maxBufferedEvents ?? 10_000;
    this.#idleTimeoutMs = options.idleTimeoutMs ?? 5000;
    this.#probeTimeoutMs = options.probeTimeoutMs ?? 2000;
  }

  /** Number of live watches. */
  get size(): number {
    return this.#watchers.size;
  }

  /** The endpoint of the open stream, if any. */
  get endpoint(): string | undefined {
    return this.#session?.endpoint;
  }

  /** Starts watching `key` (a single key, a prefix or a range, see {@link WatchOptions}). */
  watch(key: string | Uint8Array, options: WatchOptions = {}): Watcher {
    if (this.#closing.signal.aborted) throw new WatchHubClosedError();
    const range = ownRange(keyBytes(key), options);
    const watcher = new Watcher(
      this,
      range.key,
      range.rangeEnd,
      options,
      options.maxBufferedEvents ?? this.#maxBufferedEvents,
    );
    this.#watchers.add(watcher);
    if (options.signal) {
      if (options.signal.aborted) {
        this.detach(watcher);
        return watcher;
      }
      watcher._closeOn(options.signal);
    }
    this.#connect(watcher);
    return watcher;
  }

  /**
   * Asks the server for a progress notice on the open stream (delivered as `progress` batches to every
   * active watch). It never moves a watch's resume point (see the trap in docs/leases-and-watches.md).
   */
  requestProgress(): void {
    if (!this.#session) return;
    this.#session.progressForUser++;
    this.#session.requests.push(
      create(WatchRequestSchema, { requestUnion: { case: "progressRequest", value: {} } }),
    );
  }

  /** Closes every watch (they end cleanly) and the stream. */
  async close(): Promise<void> {
    if (!this.#closing.signal.aborted) {
      this.#closing.abort();
      for (const w of [...this.#watchers]) this.detach(w);
      this.#wakeLoop?.();
      this.#session?.abort.abort();
    }
    await this.#loop;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  /** @internal {@link WatcherOwner}: the watch is closed by its consumer (or the hub): cancel it. */
  detach(watcher: Watcher): void {
    if (!this.#watchers.delete(watcher)) return;
    this.#unbind(watcher);
    watcher._end();
  }

  /** @internal {@link WatcherOwner}: a paused watch was drained: re-create it from its resume point. */
  resume(watcher: Watcher): void {
    if (watcher._state !== "paused" || !this.#watchers.has(watcher)) return;
    watcher._state = "disconnected";
    this.#connect(watcher);
  }

  /** Queues a create for `watcher` on the open stream, or starts the stream loop. */
  #connect(watcher: Watcher): void {
    const session = this.#session;
    if (session) this.#enqueueCreate(session, watcher);
    if (!this.#loop) this.#loop = this.#run().catch(() => {});
    else this.#wakeLoop?.();
  }

  #enqueueCreate(session: Session, watcher: Watcher): void {
    if (watcher._state !== "disconnected") return;
    watcher._state = "creating";
    session.createQueue.push(watcher);
    this.#sendNextCreate(session);
  }

  #sendNextCreate(session: Session): void {
    if (session.createInFlight) return;
    // Watches closed or paused while queued are skipped before their create goes out.
    while (session.createQueue.length > 0 && session.createQueue[0]!._state !== "creating")
      session.createQueue.shift();
    const head = session.createQueue[0];
    if (!head) return;
    session.createInFlight = true;
    const o = head.options;
    session.requests.push(
      create(WatchRequestSchema, {
        requestUnion: {
          case: "createRequest",
          value: {
            key: head.key,
            rangeEnd: head.rangeEnd,
            startRevision: createStartRevision(head._next),
            prevKv: o.prevKv ?? false,
            progressNotify: o.progressNotify ?? false,
            fragment: o.fragment ?? false,
            filters: (o.filters ?? []).map((f) =>
              f === "noPut" ? WatchCreateRequest_FilterType.NOPUT : WatchCreateRequest_FilterType.NODELETE,
            ),
          },
        },
      }),
    );
  }

  /** Forgets `watcher`'s binding on the open stream, canceling it on the server if it was active. */
  #unbind(watcher: Watcher): void {
    const session = this.#session;
    const id = watcher._watchId;
    watcher._watchId = undefined;
    if (!session || id === undefined) return;
    session.byId.delete(id);
    session.fragments.drop(id);
    session.ignored.add(id);
    session.requests.push(
      create(WatchRequestSchema, { requestUnion: { case: "cancelRequest", value: { watchId: id } } }),
    );
  }

  async #run(): Promise<void> {
    const closing = this.#closing.signal;
    while (!closing.aborted) {
      if (![...this.#watchers].some((w) => w._state === "disconnected" || w._state === "creating")) {
        // Nothing to (re)create: sleep until a watch arrives or a paused one drains.
        await new Promise<void>((resolve) => {
          this.#wakeLoop = resolve;
        });
        this.#wakeLoop = undefined;
        continue;
      }
      const failed = await this.#runSession();
      if (closing.aborted) break;
      if (failed) this.#pool.markFailed(failed);
      await sleep(this.#backoff.next(), closing);
    }
  }

  /** Runs one stream until it breaks; returns the endpoint to mark failed (undefined when we closed it). */
  async #runSession(): Promise<string | undefined> {
    const { endpoint, transport } = this.#pool.pick();
    const session: Session = {
      endpoint,
      requests: new QueuedIterator<WatchRequest>(),
      abort: new AbortController(),
      createQueue: [],
      createInFlight: false,
      byId: new Map(),
      ignored: new Set(),
      fragments: new FragmentAssembler(),
      lastAnswerAt: Date.now(),
      probeSentAt: undefined,
      progressForUser: 0,
      progressForProbe: 0,
    };
    this.#session = session;
    this.streamsOpened++;
    for (const w of this.#watchers) {
      if (w._state === "creating") w._state = "disconnected";
      this.#enqueueCreate(session, w);
    }
    const probe = this.#startProbe(session);
    try {
      const headers = await this.#pool.metadata({ requireLeader: this.#requireLeader });
      const client = createClient(WatchService, transport);
      for await (const response of client.watch(session.requests, {
        signal: session.abort.signal,
        headers,
      })) {
        this.#onResponse(session, response);
      }
      return endpoint;
    } catch (err) {
      if (this.#closing.signal.aborted && err instanceof ConnectError && err.code === Code.Canceled)
        return undefined;
      return endpoint;
    } finally {
      clearInterval(probe);
      session.requests.end();
      session.abort.abort();
      if (this.#session === session) this.#session = undefined;
      // Every watch bound to (or waiting on) this stream resumes from its own next revision on the next one.
      for (const w of this.#watchers) {
        if (w._state === "creating" || w._state === "active") {
          w._state = "disconnected";
          w._watchId = undefined;
        }
      }
    }
  }

  #onResponse(session: Session, response: WatchResponse): void {
    session.lastAnswerAt = Date.now();
    session.probeSentAt = undefined;
    if (response.created) {
      this.#onCreated(session, response);
      return;
    }
    if (response.watchId === INVALID_WATCH_ID) {
      // A requested progress notice, for every watch on the stream; the hub's own probes stay internal.
      if (session.progressForUser === 0 && session.progressForProbe > 0) {
        session.progressForProbe--;
        return;
      }
      if (session.progressForUser > 0) session.progressForUser--;
      for (const w of session.byId.values())
        this.#deliver(w, { revision: response.header?.revision ?? 0n, events: [], progress: true });
      return;
    }
    if (session.ignored.has(response.watchId)) {
      if (response.canceled) session.ignored.delete(response.watchId);
      return;
    }
    const watcher = session.byId.get(response.watchId);
    if (!watcher) return;
    const whole = session.fragments.accept(response);
    if (!whole) return;
    // Any answer on this stream proves it healthy.
    this.#backoff.reset();
    if (whole.events.length > 0) {
      const events = dropSeen(whole.events, watcher._next);
      if (events.length > 0) {
        watcher._next = nextAfterEvents(watcher._next, events);
        this.#deliver(watcher, { revision: whole.header?.revision ?? 0n, events });
      }
    }
    if (whole.canceled) {
      session.byId.delete(whole.watchId);
      watcher._watchId = undefined;
      if (whole.compactRevision > 0n) this.#onCompacted(watcher, whole.compactRevision);
      else this.#fail(watcher, new WatchCanceledError(whole.cancelReason));
      return;
    }
    if (whole.events.length === 0)
      this.#deliver(watcher, { revision: whole.header?.revision ?? 0n, events: [], progress: true });
  }

  /**
   * The stream's liveness monitor: a silent stream gets a progress request; one that stays silent is
   * abandoned (a frozen member answers nothing, and a watch stream may legitimately be idle for hours).
   */
  #startProbe(session: Session): ReturnType<typeof setInterval> | undefined {
    if (this.#idleTimeoutMs <= 0) return undefined;
    const period = Math.max(50, Math.min(this.#idleTimeoutMs, this.#probeTimeoutMs) / 4);
    const timer = setInterval(() => {
      const now = Date.now();
      if (session.probeSentAt !== undefined) {
        if (now - session.probeSentAt > this.#probeTimeoutMs)
          session.abort.abort(new Error(`watch stream silent for ${now - session.lastAnswerAt} ms`));
        return;
      }
      if (now - session.lastAnswerAt < this.#idleTimeoutMs) return;
      session.probeSentAt = now;
      session.progressForProbe++;
      this.probesSent++;
      session.requests.push(
        create(WatchRequestSchema, { requestUnion: { case: "progressRequest", value: {} } }),
      );
    }, period);
    timer.unref?.();
    return timer;
  }

  #onCreated(session: Session, response: WatchResponse): void {
    const watcher = session.createQueue.shift();
    session.createInFlight = false;
    this.#backoff.reset();
    if (watcher) {
      if (response.canceled) {
        // A create the server refused: an error on that watch only.
        if (watcher._state === "creating") this.#fail(watcher, new WatchCanceledError(response.cancelReason));
      } else if (watcher._state !== "creating") {
        // Closed or paused while its create was in flight: cancel what the server just made.
        session.ignored.add(response.watchId);
        session.requests.push(
          create(WatchRequestSchema, {
            requestUnion: { case: "cancelRequest", value: { watchId: response.watchId } },
          }),
        );
      } else {
        watcher._state = "active";
        watcher._watchId = response.watchId;
        watcher._next = nextAfterCreated(watcher._next, response.header?.revision ?? 0n);
        session.byId.set(response.watchId, watcher);
      }
    }
    this.#sendNextCreate(session);
  }

  #deliver(watcher: Watcher, batch: Parameters<Watcher["_deliver"]>[0]): void {
    if (watcher._state !== "active" && watcher._state !== "resyncing") return;
    if (watcher._deliver(batch) || watcher._state !== "active") return;
    // Over its bound: stop the server sending more; what was delivered stays, the resume point is kept.
    this.#unbind(watcher);
    watcher._state = "paused";
  }

  #fail(watcher: Watcher, error: Error): void {
    this.#watchers.delete(watcher);
    this.#unbind(watcher);
    watcher._end(error);
  }

  #onCompacted(watcher: Watcher, compactRevision: bigint): void {
    if (watcher.options.onCompacted !== "resync") {
      this.#fail(watcher, new WatchCompactedError(compactRevision, watcher._next));
      return;
    }
    watcher._state = "resyncing";
    this.#resync(watcher).catch((err: unknown) => {
      if (watcher._state === "resyncing")
        this.#fail(watcher, err instanceof Error ? err : new Error(String(err)));
    });
  }

  /** Reads the watched range at the current revision, delivers it, and watches on from there. */
  async #resync(watcher: Watcher): Promise<void> {
    const { endpoint, transport } = this.#pool.pick();
    let response: Awaited<ReturnType<ReturnType<typeof createClient<typeof KV>>["range"]>>;
    try {
      response = await createClient(KV, transport).range(
        create(RangeRequestSchema, { key: watcher.key, rangeEnd: watcher.rangeEnd }),
        {
          headers: await this.#pool.metadata({ requireLeader: this.#requireLeader }),
          signal: this.#closing.signal,
        },
      );
    } catch (err) {
      if (err instanceof ConnectError && err.code === Code.Unavailable) this.#pool.markFailed(endpoint);
      throw err;
    }
    if (watcher._state !== "resyncing") return;
    const revision = response.header?.revision ?? 0n;
    watcher._next = revision + 1n;
    const fits = watcher._deliver({ revision, events: [], resync: response.kvs });
    watcher._state = fits ? "disconnected" : "paused";
    if (fits) this.#connect(watcher);
  }
}
