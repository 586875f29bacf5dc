import { create, type MessageInitShape } from "@bufbuild/protobuf";
import {
  type RangeRequestSchema,
  type RangeResponse,
  WatchCreateRequest_FilterType,
  WatchRequestSchema as WatchRequestMessage,
  type WatchRequestSchema,
  type WatchResponse,
  type WatchResponseSchema,
  Watch as WatchService,
} from "../../gen/etcdserverpb/rpc_pb.js";
import type { ConnectionPool } from "../call/pool.js";
import {
  type LiveStream,
  ResilientStream,
  type StreamOwner,
  type StreamSettings,
} from "../call/resilient-stream.js";
import { type EtcdError, InvalidArgumentError } from "../core/errors.js";
import type { ProcessRef, RefRelease } from "../core/process-ref.js";
import { checkInteger, checkOptionsObject, checkSignal, shownInput } from "../core/validation.js";
import type { DiagnosticsChannels } from "../diagnostics/channels.js";
import type { Bytes } from "../kv/bytes.js";
import type { KeyRange } from "../kv/types.js";
import type { Namespace } from "../namespace/namespace.js";
import { WatchCanceledError, WatchCompactedError, WatchHubClosedError } from "./errors.js";
import { toWatchEvents } from "./events.js";
import { FragmentAssembler } from "./fragments.js";
import { ownRange } from "./key-range.js";
import { ProgressRequests } from "./progress-requests.js";
import { createStartRevision } from "./resume.js";
import type { WatchBatch, WatchOptions } from "./types.js";
import { type HubWatcher, Watcher, type WatcherOwner } from "./watcher.js";

/** The options of a watch given none: one shared object, not one per watch. */
const NO_OPTIONS: WatchOptions = Object.freeze({});
/** Settings of a {@link WatchHub}: its stream's, and the default per-watch buffer bound. */
export interface WatchHubSettings extends StreamSettings {
  /**
   * Per-watch bound of delivered-but-unconsumed events. Above it the watch is canceled on the server
   * (nothing is dropped: what was delivered stays buffered) and re-created from its resume point once the
   * consumer drained half of it.
   */
  readonly maxBufferedEvents: number;
  /**
   * Lets an `AbortSignal` take any number of listeners without a warning (Node's
   * `setMaxListeners(0, signal)`; nothing where the runtime has no such limit). The platform's.
   */
  readonly unlimitedListeners: (signal: AbortSignal) => void;
}

/** Reads a range for a compaction resync, through the client's call path (auth, retries, typed errors). */
export type RangeReader = (
  request: MessageInitShape<typeof RangeRequestSchema>,
  signal: AbortSignal,
) => Promise<RangeResponse>;

/**
 * What is bound to one opening of the `Watch` stream (not called a session: `Session` is the public
 * lease-bound session of the concurrency recipes).
 */
interface OpenedStream {
  readonly live: LiveStream<typeof WatchRequestSchema>;
  /** Watches waiting for `created`, in the order their creates go out; the head's create is in flight. */
  readonly createQueue: HubWatcher[];
  createInFlight: boolean;
  readonly byId: Map<bigint, HubWatcher>;
  /** Ids this client canceled (paused or closed watches): their late responses are dropped. */
  readonly ignored: Set<bigint>;
  readonly fragments: FragmentAssembler;
  /** The server's version was looked up before this stream's first progress request (see #sendProgressRequest). */
  versionAsked: boolean;
}

const INVALID_WATCH_ID = -1n;
const PROGRESS_REQUEST = create(WatchRequestMessage, {
  requestUnion: { case: "progressRequest", value: {} },
});

/** A create refused because the stream's token is stale (etcd checks a Watch stream's token when it opened). */
const STALE_TOKEN = /invalid auth token|auth: revision/;
/** Some etcd versions answer a stale token with "permission denied" (etcd issue 12385). */
const PERMISSION_DENIED = /permission denied/;

/**
 * Every watch of a client on ONE bidirectional `Watch` stream (kept open by a {@link ResilientStream}).
 * Creates go out one at a time, in order, and are matched to `created` answers by position (as etcd
 * answers them in order). On any break the stream is reopened (on another endpoint if the pool moves on)
 * and every watch is re-created from its own resume point, so each consumer sees every revision once, in
 * order. A create refused for a stale token reopens the stream with a fresh token. See
 * docs/leases-and-watches.md for the state model and the backpressure policy. It drives each watch
 * through the transitions of {@link HubWatcher}, never by writing a watcher's fields.
 */
export class WatchHub
  implements WatcherOwner, StreamOwner<typeof WatchRequestSchema, typeof WatchResponseSchema>, AsyncDisposable
{
  readonly #stream: ResilientStream<typeof WatchRequestSchema, typeof WatchResponseSchema>;
  readonly #maxBufferedEvents: number;
  readonly #readRange: RangeReader;
  readonly #processRef: ProcessRef;
  /** Where resumed watches are published. */
  readonly #diagnostics: DiagnosticsChannels;
  /** Live watches, in creation order. */
  readonly #watchers = new Set<HubWatcher>();
  readonly #closing = new AbortController();
  /** Watches the server created at least once: a later create resumes them (`etcd-ts:watch:resume`). */
  readonly #createdOnce = new WeakSet<HubWatcher>();
  /** The outstanding `requestProgress()`, asked again until answered (etcd may drop it). */
  readonly #progress: ProgressRequests;
  /** `streams.probeTimeoutMs`: also the deadline of the version lookup before a progress request. */
  readonly #answerTimeoutMs: number;
  #opened: OpenedStream | undefined;
  #release: RefRelease | undefined;
  /**
   * @internal {@link StreamOwner}: a watch stream may be silent for hours and etcd may leave a progress
   * request unanswered, so the stream's liveness is its connection's (an HTTP/2 PING).
   */
  readonly liveness = "connection";

  constructor(
    pool: ConnectionPool,
    settings: WatchHubSettings,
    readRange: RangeReader,
    processRef: ProcessRef,
  ) {
    this.#maxBufferedEvents = settings.maxBufferedEvents;
    this.#readRange = readRange;
    this.#processRef = processRef;
    this.#stream = new ResilientStream(pool, WatchService.method.watch, this, settings);
    this.#diagnostics = pool.diagnostics;
    // Every compaction resync in flight listens to it: many at once is normal, not a listener leak.
    settings.unlimitedListeners(this.#closing.signal);
    this.#answerTimeoutMs = settings.answerTimeoutMs;
    this.#progress = new ProgressRequests(
      { trySend: () => this.#sendProgressRequest() },
      settings.answerTimeoutMs,
    );
  }

  /** Number of live watches. */
  get size(): number {
    return this.#watchers.size;
  }

  /** The endpoint of the open stream, if any. */
  get endpoint(): string | undefined {
    return this.#stream.live?.endpoint;
  }

  /**
   * Starts watching a key or a range (`{ prefix }`, `{ key, end }`, `{ fromKey }`, as reads take them),
   * inside `namespace` when a namespace view asks: its events then come with the prefix stripped.
   */
  watch(range: Bytes | KeyRange, options: WatchOptions = NO_OPTIONS, namespace?: Namespace): Watcher {
    if (this.#closing.signal.aborted) throw new WatchHubClosedError();
    checkOptionsObject(options);
    // Before the watcher exists: a bad signal must not leave one behind in the hub.
    checkSignal(options.signal);
    checkFilters(options.filters);
    const bounds = ownRange(range, namespace);
    const start =
      options.startRevision === undefined
        ? undefined
        : checkInteger(options.startRevision, "startRevision", 1);
    const bound =
      options.maxBufferedEvents === undefined
        ? this.#maxBufferedEvents
        : Number(checkInteger(options.maxBufferedEvents, "maxBufferedEvents", 1));
    // A Watcher is a HubWatcher (checked here: the interface is internal, the class public).
    const watcher: Watcher & HubWatcher = new Watcher(this, bounds, options, bound, start, namespace);
    this.#add(watcher);
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
   * Asks the server for a progress notice (delivered as a `progress` batch to every active watch, those
   * being created included): sent once the stream is open and its creates answered, and asked again
   * every `streams.probeTimeoutMs` until answered, since etcd drops the request while a watch catches up.
   * It never moves a watch's resume point (see the trap in docs/leases-and-watches.md).
   */
  requestProgress(): void {
    if (this.#watchers.size > 0) this.#progress.request();
  }

  /** Closes every watch (they end cleanly) and the stream. */
  async close(): Promise<void> {
    if (!this.#closing.signal.aborted) {
      this.#closing.abort();
      for (const w of [...this.#watchers]) this.detach(w);
      this.#progress.cancel();
    }
    await this.#stream.close();
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  /** @internal {@link WatcherOwner}: the watch is closed by its consumer (or the hub): cancel it. */
  detach(watcher: HubWatcher): void {
    if (!this.#remove(watcher)) return;
    this.#unbind(watcher);
    watcher._end();
  }

  /** @internal {@link WatcherOwner}: a paused watch was drained: re-create it from its resume point. */
  resume(watcher: HubWatcher): void {
    if (!this.#watchers.has(watcher) || !watcher._unpause()) return;
    this.#connect(watcher);
  }

  /** @internal {@link StreamOwner}: a stream is wanted while a watch needs creating or is active. */
  wanted(): boolean {
    for (const w of this.#watchers)
      if (w.state === "disconnected" || w.state === "creating" || w.state === "active") return true;
    return false;
  }

  /** @internal {@link StreamOwner}: a new stream: every watch is (re-)created from its resume point. */
  opened(live: LiveStream<typeof WatchRequestSchema>): void {
    const opened: OpenedStream = {
      live,
      createQueue: [],
      createInFlight: false,
      versionAsked: false,
      byId: new Map(),
      ignored: new Set(),
      fragments: new FragmentAssembler(),
    };
    this.#opened = opened;
    for (const w of this.#watchers) {
      // A create in flight on the old stream goes out again on this one.
      if (w.state === "creating") w._lostStream();
      this.#enqueueCreate(opened, w);
    }
    this.#progress.ready();
  }

  /** @internal {@link StreamOwner}: the stream is over: every watch bound to it resumes on the next one. */
  ended(live: LiveStream<typeof WatchRequestSchema>): void {
    if (this.#opened?.live !== live) return;
    this.#opened = undefined;
    this.#progress.ended();
    for (const w of this.#watchers) w._lostStream();
  }

  /** @internal {@link StreamOwner}: wrong credentials or a refused fixed token: every watch ends with the error. */
  failed(error: EtcdError): void {
    for (const w of [...this.#watchers]) this.#fail(w, error);
  }

  /** @internal {@link StreamOwner}: one answer of the stream. */
  received(live: LiveStream<typeof WatchRequestSchema>, response: WatchResponse): void {
    const opened = this.#opened;
    if (opened?.live !== live) return;
    if (response.created) {
      this.#onCreated(opened, response);
      return;
    }
    if (response.watchId === INVALID_WATCH_ID) {
      // The answer to a progress request (etcd sends no other), for every watch on the stream.
      this.#progress.answered();
      const revision = response.header?.revision ?? 0n;
      const complete = live.progressCanBeComplete && live.server.known?.has("syncedProgress") === true;
      for (const w of opened.byId.values())
        this.#deliver(
          w,
          complete
            ? { revision, events: [], progress: true, progressComplete: true }
            : { revision, events: [], progress: true },
        );
      return;
    }
    if (opened.ignored.has(response.watchId)) {
      if (response.canceled) opened.ignored.delete(response.watchId);
      return;
    }
    const watcher = opened.byId.get(response.watchId);
    if (!watcher) return;
    const whole = opened.fragments.accept(response);
    if (!whole) return;
    if (whole.events.length > 0) {
      live.healthy();
      const events = watcher._accept(whole.events);
      if (events.length > 0)
        this.#deliver(watcher, { revision: whole.header?.revision ?? 0n, events: toWatchEvents(events) });
    }
    if (whole.canceled) {
      opened.byId.delete(whole.watchId);
      watcher._unbind();
      if (whole.compactRevision > 0n) this.#onCompacted(watcher, whole.compactRevision);
      else this.#fail(watcher, new WatchCanceledError(whole.cancelReason, live.endpoint));
      return;
    }
    if (whole.events.length === 0)
      this.#deliver(watcher, { revision: whole.header?.revision ?? 0n, events: [], progress: true });
  }

  #add(watcher: HubWatcher): void {
    this.#watchers.add(watcher);
    this.#release ??= this.#processRef.acquire();
  }

  /** Forgets `watcher`; with no watch left the stream ends and the process is no longer held. */
  #remove(watcher: HubWatcher): boolean {
    if (!this.#watchers.delete(watcher)) return false;
    if (this.#watchers.size === 0) {
      this.#release?.();
      this.#release = undefined;
      this.#progress.cancel();
      this.#stream.idle();
    }
    return true;
  }

  /** Queues a create for `watcher` on the open stream, or has the stream opened. */
  #connect(watcher: HubWatcher): void {
    const opened = this.#opened;
    if (opened) this.#enqueueCreate(opened, watcher);
    this.#stream.wake();
  }

  #enqueueCreate(opened: OpenedStream, watcher: HubWatcher): void {
    if (!watcher._queue()) return;
    opened.createQueue.push(watcher);
    this.#sendNextCreate(opened);
  }

  /**
   * {@link ProgressHost}: a progress request goes out once no create is in flight (see requestProgress),
   * and once the server's version is known (or cannot be), which tells whether its answer is complete
   * (`progressComplete`): the first request of a connection waits for that one Status call.
   */
  #sendProgressRequest(): boolean {
    const opened = this.#opened;
    if (!opened || opened.createInFlight) return false;
    const live = opened.live;
    if (!opened.versionAsked) {
      opened.versionAsked = true;
      if (live.server.known === undefined) {
        live.server
          .version(live.signal, this.#answerTimeoutMs)
          .catch(() => undefined)
          .finally(() => this.#progress.ready());
        return false;
      }
    }
    live.send(PROGRESS_REQUEST);
    return true;
  }

  #sendNextCreate(opened: OpenedStream): void {
    if (opened.createInFlight) return;
    // Watches closed or paused while queued are skipped before their create goes out.
    while (opened.createQueue.length > 0 && opened.createQueue[0]!.state !== "creating")
      opened.createQueue.shift();
    const head = opened.createQueue[0];
    if (!head) {
      // Every create is answered: a progress request owed goes out now, for these watches too.
      this.#progress.ready();
      return;
    }
    opened.createInFlight = true;
    const o = head.options;
    opened.live.send(
      create(WatchRequestMessage, {
        requestUnion: {
          case: "createRequest",
          value: {
            key: head.key,
            rangeEnd: head.rangeEnd,
            startRevision: createStartRevision(head.nextRevision),
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
  #unbind(watcher: HubWatcher): void {
    const opened = this.#opened;
    const id = watcher._unbind();
    if (!opened || id === undefined) return;
    opened.byId.delete(id);
    opened.fragments.drop(id);
    opened.ignored.add(id);
    opened.live.send(
      create(WatchRequestMessage, { requestUnion: { case: "cancelRequest", value: { watchId: id } } }),
    );
  }

  #onCreated(opened: OpenedStream, response: WatchResponse): void {
    const watcher = opened.createQueue.shift();
    opened.createInFlight = false;
    if (watcher) {
      if (response.canceled) {
        if (watcher.state === "creating" && this.#refusedForToken(opened, watcher, response.cancelReason))
          return;
        // A create the server refused: an error on that watch only.
        if (watcher.state === "creating")
          this.#fail(watcher, new WatchCanceledError(response.cancelReason, opened.live.endpoint));
      } else if (watcher.state !== "creating") {
        // Closed or paused while its create was in flight: cancel what the server just made.
        opened.ignored.add(response.watchId);
        opened.live.send(
          create(WatchRequestMessage, {
            requestUnion: { case: "cancelRequest", value: { watchId: response.watchId } },
          }),
        );
      } else {
        opened.live.healthy();
        if (this.#createdOnce.has(watcher)) {
          const revision = watcher.nextRevision;
          const { watchResume } = this.#diagnostics;
          if (watchResume.hasSubscribers && revision !== undefined)
            watchResume.publish({ endpoint: opened.live.endpoint, revision, watcher });
        } else this.#createdOnce.add(watcher);
        watcher._activate(response.watchId, response.header?.revision ?? 0n);
        opened.byId.set(response.watchId, watcher);
      }
    }
    this.#sendNextCreate(opened);
  }

  /**
   * A create refused because the stream's token went stale (it expired, or the member restarted): the
   * stream reopens with a fresh token and every watch resumes. "permission denied" may mean the same on
   * some versions, so it earns one reopen per watch; refused again on a fresh stream, it is real.
   */
  #refusedForToken(opened: OpenedStream, watcher: HubWatcher, reason: string): boolean {
    if (STALE_TOKEN.test(reason)) {
      opened.live.tokenRefused(reason);
      return true;
    }
    if (PERMISSION_DENIED.test(reason) && watcher._firstDenial()) {
      opened.live.reauthenticate();
      return true;
    }
    return false;
  }

  #deliver(watcher: HubWatcher, batch: WatchBatch): void {
    if (watcher.state !== "active" && watcher.state !== "resyncing") return;
    if (watcher._deliver(batch) || watcher.state !== "active") return;
    // Over its bound: stop the server sending more; what was delivered stays, the resume point is kept.
    this.#unbind(watcher);
    watcher._pause();
  }

  #fail(watcher: HubWatcher, error: Error): void {
    this.#remove(watcher);
    this.#unbind(watcher);
    watcher._end(error);
  }

  #onCompacted(watcher: HubWatcher, compactRevision: bigint): void {
    if (watcher.options.onCompacted !== "resync") {
      this.#fail(watcher, new WatchCompactedError(compactRevision, watcher.nextRevision));
      return;
    }
    watcher._startResync();
    this.#resync(watcher).catch((err: unknown) => {
      if (watcher.state === "resyncing")
        this.#fail(watcher, err instanceof Error ? err : new Error(String(err)));
    });
  }

  /** Reads the watched range at the current revision, delivers it, and watches on from there. */
  async #resync(watcher: HubWatcher): Promise<void> {
    const response = await this.#readRange(
      { key: watcher.key, rangeEnd: watcher.rangeEnd },
      this.#closing.signal,
    );
    if (watcher.state !== "resyncing") return;
    if (watcher._resynced(response.header?.revision ?? 0n, response.kvs)) this.#connect(watcher);
  }
}

/** Checks a watch's `filters`: an array of `"noPut"` and `"noDelete"` (a typo must not become the other). */
function checkFilters(filters: unknown): void {
  if (filters === undefined) return;
  if (!Array.isArray(filters) || filters.some((f) => f !== "noPut" && f !== "noDelete"))
    throw new InvalidArgumentError(
      "filters",
      `must be an array of "noPut" and "noDelete", got ${Array.isArray(filters) ? `[${filters.map(shownInput).join(", ")}]` : shownInput(filters)}`,
    );
}
