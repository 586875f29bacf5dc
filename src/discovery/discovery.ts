import {
  ClientClosedError,
  ClosedError,
  checkOptionsObject,
  checkSignal,
  EventEmitter,
  InvalidArgumentError,
  Lifecycle,
} from "../client/core/index.js";
import { checkPort, type EtcdPort } from "../client/port.js";
import { type CacheChange, type KeyValue, RangeCache, type RangeCacheState } from "../client/portable.js";
import type { InstanceCodec } from "./codec.js";
import { goEndpointsCodec } from "./go-endpoints-codec.js";
import type { ServiceInstance } from "./instance.js";
import { checkServiceName } from "./service-name.js";
import { SnapshotFeed } from "./snapshot-feed.js";

/** Options of {@link discover}. */
export interface DiscoverOptions {
  /** Key/value layout. Default `goEndpointsCodec()`. */
  codec?: InstanceCodec | undefined;
  /** Only instances it accepts are in the view (see `notDraining`, `inZone`, `withVersion`, `whereMetadata`). Default: all. */
  filter?: ((instance: ServiceInstance) => boolean) | undefined;
  /** Aborting it closes the discovery. */
  signal?: AbortSignal | undefined;
}

/** One change of the view. `key` is the instance's etcd key, its identity. */
export type InstanceChange =
  | { readonly type: "added"; readonly key: string; readonly instance: ServiceInstance }
  | {
      readonly type: "updated";
      readonly key: string;
      readonly instance: ServiceInstance;
      readonly previous: ServiceInstance;
    }
  | { readonly type: "removed"; readonly key: string; readonly instance: ServiceInstance };

/** An entry that could not be read as an instance; it is left out of the view. */
export interface DiscoveryWarning {
  /** The entry's key. */
  readonly key: string;
  /** What is wrong with it. */
  readonly reason: string;
}

/** Events of a {@link Discovery}. */
export interface DiscoveryEvents {
  /** An instance joined the view. */
  added: [ServiceInstance, string];
  /** An instance's value changed. */
  updated: [ServiceInstance, ServiceInstance, string];
  /** An instance left the view. */
  removed: [ServiceInstance, string];
  /** Every change of one etcd revision (or of a resync), in one array, with the revision the view is now at. */
  changes: [readonly InstanceChange[], bigint];
  /** A malformed entry was skipped. */
  warning: [DiscoveryWarning];
  /**
   * The view cannot follow etcd: reading the service's entries failed (etcd unreachable, permission
   * denied...), or its watch ended with an error (refused or canceled by the server). The view keeps its
   * last state; it is read again and re-watched with backoff (100 ms doubling to 5 s, jittered), which
   * restarts only after a watch has held for 5 s. Once it watches again, what changed meanwhile arrives
   * as ordinary `changes`.
   */
  unavailable: [Error];
  /** The state changed (see {@link DiscoveryState}); emitted from a microtask. */
  state: [DiscoveryState];
  /** The discovery is over (always `undefined`: only this process ends it); emitted once. */
  close: [Error | undefined];
}

/**
 * Where a {@link Discovery} is: `connecting` until its first read (and while its watch is being
 * re-created), `live` while it follows etcd, `unavailable` while it cannot (it keeps its last view and
 * retries), `closed` at the end.
 */
export type DiscoveryState = "connecting" | "live" | "unavailable" | "closed";

/**
 * Starts watching the instances of `service`: a range at revision R, then a watch from R + 1 (no gap, no
 * duplicate), resumed across reconnects and resynced after compaction. See {@link Discovery}. `service`
 * is a non-empty name without `/` (a path goes in the codec's `keyPrefix`); bad input is an
 * `InvalidArgumentError` naming the argument, thrown before anything is sent.
 */
export function discover(etcd: EtcdPort, service: string, options: DiscoverOptions = {}): Discovery {
  checkPort(etcd, "etcd");
  checkServiceName(service);
  checkOptionsObject(options);
  checkSignal(options.signal);
  if (options.filter !== undefined && typeof options.filter !== "function")
    throw new InvalidArgumentError("filter", "must be a function (instance) => boolean");
  const codec = options.codec as Partial<InstanceCodec> | undefined;
  if (
    codec !== undefined &&
    (typeof codec !== "object" ||
      codec === null ||
      typeof codec.servicePrefix !== "function" ||
      typeof codec.decode !== "function")
  )
    throw new InvalidArgumentError("codec", "must be an InstanceCodec (e.g. goEndpointsCodec())");
  return new Discovery(etcd, service, options);
}

/**
 * A live view of a service's instances: `instances()`, events (`added`, `updated`, `removed`, `changes`,
 * `warning`, `unavailable`), `for await` over snapshots (the current one first, then the newest after
 * each change), `ready`. It follows the lifecycle convention of every live object (docs/client.md):
 * `state`, `closed`, `signal`, the `state` and `close` events.
 *
 * Built on a {@link RangeCache} of the service's prefix (`etcd.cache()`), which reads, watches, resumes
 * and resyncs; the view decodes each change once. A change costs O(1) in the size of the service: its
 * events and `changes` are built from the change alone, and a `for await` loop's snapshot (O(instances))
 * is built only when the loop takes it.
 */
export class Discovery
  extends EventEmitter<DiscoveryEvents>
  implements AsyncIterable<ServiceInstance[]>, AsyncDisposable
{
  /** The service watched. */
  readonly service: string;
  readonly #etcd: EtcdPort;
  readonly #codec: InstanceCodec;
  readonly #filter: (instance: ServiceInstance) => boolean;
  readonly #closing = new AbortController();
  /** The view: the readable entries the filter accepts, by key. */
  readonly #view = new Map<string, ServiceInstance>();
  readonly #feeds = new Set<SnapshotFeed<ServiceInstance[]>>();
  readonly #ready: Promise<void>;
  #resolveReady!: () => void;
  #rejectReady!: (error: Error) => void;
  #isReady = false;
  /** The cache the view follows; its changes count only once the view was built from its content. */
  #cache: RangeCache | undefined;
  #following = false;
  #revision = 0n;
  #closed: Promise<void> | undefined;
  #running: Promise<void> = Promise.resolve();
  readonly #life = new Lifecycle<Exclude<DiscoveryState, "closed">>(this, "discovery", "connecting");
  readonly #prefix: string;
  /** Ends the discovery's hold on the process (and its client-close hook). */
  readonly #detach: () => void;
  readonly #signal: AbortSignal | undefined;

  /** @internal Use {@link discover}. */
  constructor(etcd: EtcdPort, service: string, options: DiscoverOptions) {
    super();
    this.service = service;
    this.#etcd = etcd;
    this.#codec = options.codec ?? goEndpointsCodec();
    this.#filter = options.filter ?? (() => true);
    this.#prefix = this.#codec.servicePrefix(service);
    this.#ready = new Promise((resolve, reject) => {
      this.#resolveReady = resolve;
      this.#rejectReady = reject;
    });
    this.#ready.catch(() => {});
    // Holds the process until closed; a client closed first closes the discovery with it.
    this.#detach = etcd._attach(() => void this.close());
    this.#signal = options.signal;
    if (options.signal?.aborted) void this.close();
    else {
      options.signal?.addEventListener("abort", this.#onAbort, { once: true });
      this.#start();
    }
  }

  readonly #onAbort = () => void this.close();

  /** Where the view is (see {@link DiscoveryState}). */
  get state(): DiscoveryState {
    return this.#life.state;
  }

  /** Resolves once the discovery is closed (with `undefined`: only this process ends it). Never rejects. */
  get closed(): Promise<Error | undefined> {
    return this.#life.closed;
  }

  /** Aborted once the discovery is closed (reason: a `ClosedError`). */
  get signal(): AbortSignal {
    return this.#life.signal;
  }

  /** Resolves once the first range was read (rejects if closed before). */
  get ready(): Promise<void> {
    return this.#ready;
  }

  /** The etcd revision the view reflects. */
  get revision(): bigint {
    return this.#revision;
  }

  /** The instances in the view now, in key order. */
  instances(): ServiceInstance[] {
    return [...this.#view.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([, i]) => i);
  }

  /** The view as a map from etcd key to instance (a copy). */
  entries(): Map<string, ServiceInstance> {
    return new Map(this.#view);
  }

  /** Stops watching; iterators end. Idempotent; never rejects. */
  close(): Promise<void> {
    this.#closed ??= (async () => {
      this.#life.end();
      this.#detach();
      this.#signal?.removeEventListener("abort", this.#onAbort);
      this.#closing.abort();
      if (!this.#isReady) this.#rejectReady(new ClosedError("the discovery was closed before it was ready"));
      for (const feed of this.#feeds) feed.end();
      this.#feeds.clear();
      await this.#cache?.close();
      await this.#running;
    })();
    return this.#closed;
  }

  /** Same as `close()`, for `await using`. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  /**
   * Snapshots of the view: the current one once ready, then the newest after each change. Changes that
   * come while the loop body runs are folded into one snapshot (a slow loop never falls behind).
   */
  [Symbol.asyncIterator](): AsyncIterator<ServiceInstance[]> {
    const feed: SnapshotFeed<ServiceInstance[]> = new SnapshotFeed(
      () => this.instances(),
      () => this.#feeds.delete(feed),
      this.#isReady,
    );
    if (this.#closing.signal.aborted) feed.end();
    else this.#feeds.add(feed);
    return feed;
  }

  /**
   * Follows a cache of the service's prefix. The cache reads, watches, resumes, resyncs and retries every
   * failure with backoff itself (wrong credentials too: the view must go on until this process closes
   * it), so it ends only when its client closes, which closes the view too.
   */
  #start(): void {
    let cache: RangeCache;
    try {
      cache = new RangeCache(this.#etcd, { prefix: this.#prefix }, { signal: this.#closing.signal }, true);
    } catch (err) {
      // A closed client cannot serve this view any more.
      if (err instanceof ClientClosedError) return void this.close();
      throw err;
    }
    this.#cache = cache;
    cache.on("change", this.#onChange);
    cache.on("unavailable", this.#onUnavailable);
    cache.on("state", this.#onCacheState);
    cache.ready.then(
      () => this.#follow(cache),
      () => {},
    );
    this.#running = cache.closed.then(() => {
      cache.off("change", this.#onChange);
      cache.off("unavailable", this.#onUnavailable);
      cache.off("state", this.#onCacheState);
      void this.close();
    });
  }

  /** A cache read its range: the view becomes its content (the differences are emitted), then follows its changes. */
  #follow(cache: RangeCache): void {
    if (this.#cache !== cache || this.#closing.signal.aborted) return;
    const { kvs, revision } = cache.range({ prefix: this.#prefix });
    this.#following = true;
    this.#life.set("live");
    this.#replace(kvs, revision);
    if (!this.#isReady) {
      this.#isReady = true;
      this.#resolveReady();
      for (const feed of this.#feeds) feed.changed();
    }
  }

  readonly #onChange = (change: CacheChange) => {
    if (!this.#following) return;
    const changes: InstanceChange[] = [];
    for (const event of change.events) {
      const key = event.kv.keyText();
      this.#set(key, event.type === "delete" ? undefined : this.#decode(key, event.kv.value), changes);
    }
    this.#commit(changes, change.revision);
  };

  readonly #onUnavailable = (error: Error) => {
    this.#life.set("unavailable");
    this.emit("unavailable", error);
  };

  /** `connecting` until the first read; from then on `live`, or `unavailable` while the cache reports failures. */
  readonly #onCacheState = (state: RangeCacheState) => {
    if (state === "live" || state === "unavailable") this.#life.set(state);
  };

  /** Replaces the view by `kvs` (a whole range at `revision`) and emits the differences. */
  #replace(kvs: readonly KeyValue[], revision: bigint): void {
    const changes: InstanceChange[] = [];
    const seen = new Set<string>();
    for (const kv of kvs) {
      const key = kv.keyText();
      seen.add(key);
      this.#set(key, this.#decode(key, kv.value), changes);
    }
    for (const key of [...this.#view.keys()]) if (!seen.has(key)) this.#set(key, undefined, changes);
    this.#commit(changes, revision);
  }

  #decode(key: string, value: Uint8Array): ServiceInstance | undefined {
    const result = this.#codec.decode(this.service, key, value);
    if (result.kind === "instance") return result.instance;
    if (result.kind === "malformed") this.emit("warning", { key, reason: result.reason });
    return undefined;
  }

  /** Sets one entry (undefined = gone or unreadable) and records how the filtered view changed. */
  #set(key: string, next: ServiceInstance | undefined, changes: InstanceChange[]): void {
    const before = this.#view.get(key);
    const after = next && this.#filter(next) ? next : undefined;
    if (after) this.#view.set(key, after);
    else this.#view.delete(key);
    if (before && !after) changes.push({ type: "removed", key, instance: before });
    else if (!before && after) changes.push({ type: "added", key, instance: after });
    else if (before && after && !sameInstance(before, after))
      changes.push({ type: "updated", key, instance: after, previous: before });
  }

  #commit(changes: InstanceChange[], revision: bigint): void {
    if (revision > this.#revision) this.#revision = revision;
    if (changes.length === 0) return;
    for (const c of changes) {
      if (c.type === "added") this.emit("added", c.instance, c.key);
      else if (c.type === "updated") this.emit("updated", c.instance, c.previous, c.key);
      else this.emit("removed", c.instance, c.key);
    }
    this.emit("changes", changes, this.#revision);
    // O(loops), not O(instances): a loop's snapshot is built when it takes it.
    if (this.#isReady) for (const feed of this.#feeds) feed.changed();
  }
}

function sameInstance(a: ServiceInstance, b: ServiceInstance): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}
