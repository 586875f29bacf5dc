import { EventEmitter } from "node:events";
import { HEALTHY_WATCH_MS, recheckBackoff, sleep } from "../client/connection/backoff.js";
import { ClientClosedError, ClosedError } from "../client/errors.js";
import type { Etcd } from "../client/etcd.js";
import { Lifecycle } from "../client/lifecycle.js";
import { QueuedIterator } from "../client/stream/queued-iterator.js";
import type { WatchBatch } from "../client/watch/types.js";
import type { Watcher } from "../client/watch/watcher.js";
import type { InstanceCodec } from "./codec.js";
import { goEndpointsCodec } from "./go-endpoints-codec.js";
import type { ServiceInstance } from "./instance.js";

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
   * denied...), or its watch ended with an error (refused or canceled by the server, a compaction it
   * could not resync). The view keeps its last state; it is read again and re-watched with backoff
   * (100 ms doubling to 5 s, jittered), which restarts only after a watch has held for 5 s. Once it
   * watches again, what changed meanwhile arrives as ordinary `changes`.
   */
  unavailable: [Error];
  /** The state changed (see {@link DiscoveryState}); emitted from a microtask. */
  state: [DiscoveryState];
  /** The discovery is over (always `undefined`: only this process ends it); emitted once. */
  close: [Error | undefined];
}

/**
 * Where a {@link Discovery} is: `connecting` until its first read, `live` while it follows etcd,
 * `unavailable` while it cannot (it keeps its last view and retries), `closed` at the end.
 */
export type DiscoveryState = "connecting" | "live" | "unavailable" | "closed";

/**
 * Starts watching the instances of `service`: a range at revision R, then a watch from R + 1 (no gap, no
 * duplicate), resumed across reconnects and resynced after compaction. See {@link Discovery}.
 */
export function discover(etcd: Etcd, service: string, options: DiscoverOptions = {}): Discovery {
  return new Discovery(etcd, service, options);
}

/**
 * A live view of a service's instances: `instances()`, events (`added`, `updated`, `removed`, `changes`,
 * `warning`, `unavailable`), `for await` over snapshots (the current one first, then one per change),
 * `ready`. It follows the lifecycle convention of every live object (docs/client.md): `state`,
 * `closed`, `signal`, the `state` and `close` events.
 */
export class Discovery
  extends EventEmitter<DiscoveryEvents>
  implements AsyncIterable<ServiceInstance[]>, AsyncDisposable
{
  /** The service watched. */
  readonly service: string;
  readonly #etcd: Etcd;
  readonly #codec: InstanceCodec;
  readonly #filter: (instance: ServiceInstance) => boolean;
  readonly #closing = new AbortController();
  /** Every readable entry, filtered or not, by key. */
  readonly #entries = new Map<string, ServiceInstance>();
  /** The view: entries the filter accepts. */
  readonly #view = new Map<string, ServiceInstance>();
  readonly #subscribers = new Set<QueuedIterator<ServiceInstance[]>>();
  readonly #ready: Promise<void>;
  #resolveReady!: () => void;
  #rejectReady!: (error: Error) => void;
  #isReady = false;
  #watcher: Watcher | undefined;
  #revision = 0n;
  #closed: Promise<void> | undefined;
  readonly #life = new Lifecycle<Exclude<DiscoveryState, "closed">>(this, "discovery", "connecting");
  readonly #prefix: string;
  /** Ends the discovery's hold on the process (and its client-close hook). */
  readonly #detach: () => void;
  readonly #signal: AbortSignal | undefined;

  /** @internal Use {@link discover}. */
  constructor(etcd: Etcd, service: string, options: DiscoverOptions) {
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
    else options.signal?.addEventListener("abort", this.#onAbort, { once: true });
    void this.#run();
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
      void this.#watcher?.close();
      if (!this.#isReady) this.#rejectReady(new ClosedError("the discovery was closed before it was ready"));
      for (const q of this.#subscribers) q.end();
      this.#subscribers.clear();
    })();
    return this.#closed;
  }

  /** Same as `close()`, for `await using`. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  /** Snapshots of the view: the current one once ready, then one after each change. */
  [Symbol.asyncIterator](): AsyncIterator<ServiceInstance[]> {
    const queue = new QueuedIterator<ServiceInstance[]>({ onStop: () => this.#subscribers.delete(queue) });
    if (this.#closing.signal.aborted) queue.end();
    else {
      this.#subscribers.add(queue);
      if (this.#isReady) queue.push(this.instances());
    }
    return queue[Symbol.asyncIterator]();
  }

  /**
   * Range then watch; when the watch ends with an error, report it and start over (range, diff, watch)
   * with backoff. A range that succeeds does not restart the backoff, a watch that held does: a watch
   * refused at once, again and again, must not turn into a range every 100 ms.
   */
  async #run(): Promise<void> {
    const signal = this.#closing.signal;
    const backoff = recheckBackoff();
    let delay = 0;
    while (!signal.aborted) {
      if (delay > 0) await sleep(delay, signal);
      if (signal.aborted) return;
      let range: Awaited<ReturnType<Etcd["range"]>>;
      try {
        range = await this.#etcd.range({ prefix: this.#prefix }, { signal });
      } catch (err) {
        // A closed client cannot serve this view any more.
        if (err instanceof ClientClosedError) return void this.close();
        if (signal.aborted) return;
        this.#unavailable(err);
        delay = backoff.next();
        continue;
      }
      if (signal.aborted) return;
      this.#life.set("live");
      this.#replace(range.kvs, range.revision);
      if (!this.#isReady) {
        this.#isReady = true;
        this.#resolveReady();
        for (const q of this.#subscribers) q.push(this.instances());
      }
      const startedAt = performance.now();
      try {
        const watcher = this.#etcd.watch(
          { prefix: this.#prefix },
          {
            startRevision: range.revision + 1n,
            onCompacted: "resync",
            signal,
          },
        );
        this.#watcher = watcher;
        for await (const batch of watcher) this.#apply(batch);
      } catch (err) {
        if (err instanceof ClientClosedError) return void this.close();
        if (!signal.aborted) this.#unavailable(err);
      }
      // A watch ends cleanly only when its client closes; the next range then ends the view.
      if (performance.now() - startedAt >= HEALTHY_WATCH_MS) backoff.reset();
      delay = backoff.next();
    }
  }

  #unavailable(err: unknown): void {
    this.#life.set("unavailable");
    this.emit("unavailable", err instanceof Error ? err : new Error(String(err)));
  }

  #apply(batch: WatchBatch): void {
    if (batch.resync) {
      this.#replace(batch.resync, batch.revision);
      return;
    }
    if (batch.events.length === 0) return;
    const changes: InstanceChange[] = [];
    let revision = this.#revision;
    for (const event of batch.events) {
      const kv = event.kv;
      if (!kv) continue;
      const key = new TextDecoder().decode(kv.key);
      if (kv.modRevision > revision) revision = kv.modRevision;
      if (event.type === "delete") this.#set(key, undefined, changes);
      else this.#set(key, this.#decode(key, kv.value), changes);
    }
    this.#commit(changes, revision);
  }

  /** Replaces every entry by `kvs` (a whole range at `revision`) and emits the differences. */
  #replace(kvs: readonly { key: Uint8Array; value: Uint8Array }[], revision: bigint): void {
    const changes: InstanceChange[] = [];
    const seen = new Set<string>();
    for (const kv of kvs) {
      const key = new TextDecoder().decode(kv.key);
      seen.add(key);
      this.#set(key, this.#decode(key, kv.value), changes);
    }
    for (const key of [...this.#entries.keys()]) if (!seen.has(key)) this.#set(key, undefined, changes);
    this.#commit(changes, revision);
  }

  #decode(key: string, value: Uint8Array): ServiceInstance | undefined {
    const result = this.#codec.decode(this.service, key, value);
    if (result.kind === "instance") return result.instance;
    if (result.kind === "malformed") this.emit("warning", { key, reason: result.reason });
    return undefined;
  }

  /** Sets one entry (undefined = gone) and records how the filtered view changed. */
  #set(key: string, next: ServiceInstance | undefined, changes: InstanceChange[]): void {
    if (next) this.#entries.set(key, next);
    else this.#entries.delete(key);
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
    // Building a sorted snapshot costs O(instances): only when a `for await` consumer will receive it
    // (measured by bench:discovery: ~1.1 ms -> ~0.1 ms CPU per update on a 10,000-instance view).
    if (this.#isReady && this.#subscribers.size > 0) {
      const snapshot = this.instances();
      for (const q of this.#subscribers) q.push(snapshot);
    }
  }
}

function sameInstance(a: ServiceInstance, b: ServiceInstance): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}
