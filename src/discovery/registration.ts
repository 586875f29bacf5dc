import { Code } from "@connectrpc/connect";
import {
  AbortedError,
  Backoff,
  ClientClosedError,
  checkNumber,
  checkOptionsObject,
  checkSignal,
  checkTtl,
  DeadlineExceededError,
  EtcdError,
  EventEmitter,
  InvalidArgumentError,
  LeaseNotFoundError,
  Lifecycle,
  QueuedIterator,
  shownInput,
  sleep,
  UnavailableError,
} from "../client/core/index.js";
import { broken, done, type FollowBroken, type FollowDone, follow, readAt } from "../client/follow/follow.js";
import { checkPort, type EtcdPort, onLeaseEnd } from "../client/port.js";
import { compare, type KeyValue, type Lease, op, type Watcher } from "../client/portable.js";
import type { InstanceCodec } from "./codec.js";
import {
  RegistrationClosedError,
  RegistrationConflictError,
  type RegistrationLossReason,
  RegistrationLostError,
} from "./errors.js";
import { goEndpointsCodec } from "./go-endpoints-codec.js";
import { HealthStatus } from "./health-service.js";
import { type ServiceInstance, type ServiceInstanceInit, toInstance } from "./instance.js";

/**
 * Least time between two lease grants of one registration, whatever fails and however fast: at most two
 * grants a second, so a registration that keeps being lost cannot flood etcd.
 */
const MIN_GRANT_INTERVAL_MS = 500;

/** Options of {@link register}. */
export interface RegisterOptions extends ServiceInstanceInit {
  /** Lease TTL in seconds: how long the instance outlives its process. Default 10. */
  ttl?: number | undefined;
  /** Key/value layout. Default `goEndpointsCodec()` (etcd's Go `naming/endpoints`). */
  codec?: InstanceCodec | undefined;
  /**
   * Delays between re-registration attempts after a loss, and between checks of the key when its watch
   * breaks. Default 100 ms doubling to 5 s, jittered. The backoff restarts only once a registration (or
   * the watch of its key) has held for one `ttl`: a registration lost again soon after coming back waits
   * longer each time. Whatever the backoff, lease grants are at least 500 ms apart (at most 2 a second).
   */
  backoff?: { initialMs?: number | undefined; maxMs?: number | undefined } | undefined;
  /**
   * What the first registration does when etcd cannot be reached. Default `false`: `register()` rejects
   * with that error (`UnavailableError`, `DeadlineExceededError`), as a `put()` would, so a server finds
   * out at start. `true`: it retries with `backoff` (jittered, lease grants at least 500 ms apart) until
   * it succeeds, `signal` aborts (then `AbortedError`; use `AbortSignal.timeout(ms)` for a deadline) or the client closes, like `discover()` and `etcd.cache()`,
   * which wait for etcd too. Errors that no retry can fix reject at once either way:
   * `RegistrationConflictError`, `PermissionDeniedError`, `AuthFailedError`, `InvalidArgumentError`.
   */
  waitForEtcd?: boolean | undefined;
  /** Aborts the first registration (and, with `waitForEtcd`, the wait for etcd). */
  signal?: AbortSignal | undefined;
  /**
   * The server's health service status (served with `health.connectRoutes(router)` or
   * `health.addToGrpcServer(server)`): `drain()` makes every service NOT_SERVING before it writes the
   * drain to etcd, and `deregister()` before it revokes the lease (ending its open Watch streams too), so
   * clients with active health checks stop sending calls at once. Default: none.
   */
  health?: HealthStatus | undefined;
}

/** One step in a registration's life, as the async iterator gives it. */
export type RegistrationEvent =
  | { readonly type: "registered"; readonly instance: ServiceInstance; readonly leaseId: bigint }
  | { readonly type: "lost"; readonly error: RegistrationLostError }
  | { readonly type: "reregistered"; readonly instance: ServiceInstance; readonly leaseId: bigint };

/** Events of a {@link Registration}'s event-emitter face. */
export interface RegistrationEvents {
  /** The first registration succeeded. */
  registered: [ServiceInstance];
  /** The instance is no longer (or may no longer be) in etcd, see its `reason`; re-registration starts. */
  lost: [RegistrationLostError];
  /** Registered again after a loss. */
  reregistered: [ServiceInstance];
  /**
   * Something failed and is retried with backoff: a re-registration attempt; or the watch of the key,
   * ended with an error (refused or canceled by the server), or the read that then checks the key. The
   * registration stays `registered` meanwhile: a refused or broken watch says nothing about the key.
   */
  retry: [Error];
  /** The state changed (see {@link RegistrationState}); emitted from a microtask. */
  state: [RegistrationState];
  /** The registration is over (always `undefined`: only this process ends it); emitted once. */
  close: [Error | undefined];
}

/** Where a registration is. */
export type RegistrationState = "registering" | "registered" | "reregistering" | "closed";

/**
 * Registers an instance under a fresh lease (kept alive on the client's shared keepalive stream) with a
 * put-if-absent txn: a key held by another live instance is refused with {@link RegistrationConflictError}.
 * The returned {@link Registration} re-registers on its own after any loss, and its key goes when it is
 * deregistered, closed, or its client is closed (the lease is revoked); only a crash leaves the key to its
 * TTL. Bad input (an empty or missing `service` or `addr`, a service with `/`, a `ttl` that is not a
 * positive integer, ...) is an `InvalidArgumentError` naming the field, before anything is sent. When
 * etcd is down, it rejects at once unless `waitForEtcd` is set.
 */
export async function register(etcd: EtcdPort, options: RegisterOptions): Promise<Registration> {
  checkRegisterOptions(etcd, options);
  const registration = new Registration(etcd, options);
  await registration._start(options.signal, options.waitForEtcd === true);
  return registration;
}

/** The input checks of {@link register} that {@link toInstance} does not make. */
function checkRegisterOptions(etcd: EtcdPort, options: RegisterOptions): void {
  checkPort(etcd, "etcd");
  checkOptionsObject(options, "options", false);
  if (options.ttl !== undefined) checkTtl(options.ttl, "ttl");
  checkOptionsObject(options.backoff, "backoff");
  checkNumber(options.backoff?.initialMs, "backoff.initialMs", 0);
  checkNumber(options.backoff?.maxMs, "backoff.maxMs", 0);
  checkSignal(options.signal);
  if (options.health !== undefined && !(options.health instanceof HealthStatus))
    throw new InvalidArgumentError("health", `must be a HealthStatus, got ${shownInput(options.health)}`);
  if (options.waitForEtcd !== undefined && typeof options.waitForEtcd !== "boolean")
    throw new InvalidArgumentError(
      "waitForEtcd",
      `must be a boolean, got ${shownInput(options.waitForEtcd)}`,
    );
  const codec = options.codec as Partial<InstanceCodec> | undefined;
  if (
    codec !== undefined &&
    (typeof codec !== "object" ||
      codec === null ||
      !(["servicePrefix", "key", "encode", "decode"] as const).every((f) => typeof codec[f] === "function"))
  )
    throw new InvalidArgumentError("codec", "must be an InstanceCodec (e.g. goEndpointsCodec())");
}

/** The first registration was aborted through its `signal`; `cause` is the last failure (or the reason). */
function aborted(cause: unknown): AbortedError {
  return new AbortedError("register() was aborted", { code: Code.Canceled, cause });
}

/**
 * True for the failures of a first registration that waiting for etcd can fix: etcd (or the way to it)
 * is down, slow, leaderless, or the fresh lease vanished before the key was written.
 */
function isWorthWaiting(error: unknown): boolean {
  return (
    error instanceof UnavailableError ||
    error instanceof DeadlineExceededError ||
    error instanceof LeaseNotFoundError
  );
}

/**
 * A live registration: events (`registered`, `lost`, `reregistered`, `retry`), `for await` over
 * {@link RegistrationEvent}s, `update()`, `drain()`, `deregister()` (= `close()`, `await using`). It
 * follows the lifecycle convention of every live object (docs/client.md): `state`, `closed`, `signal`,
 * the `state` and `close` events; a lost key is not its end (it re-registers).
 */
export class Registration
  extends EventEmitter<RegistrationEvents>
  implements AsyncIterable<RegistrationEvent>, AsyncDisposable
{
  readonly #etcd: EtcdPort;
  readonly #codec: InstanceCodec;
  readonly #ttl: number;
  readonly #health: HealthStatus | undefined;
  readonly #backoff: Backoff;
  readonly #closing = new AbortController();
  readonly #subscribers = new Set<QueuedIterator<RegistrationEvent>>();
  #instance: ServiceInstance;
  #lease: Lease | undefined;
  /** The ID of the last lease a registration was written under (0n before the first). */
  #leaseId = 0n;
  #watcher: Watcher | undefined;
  readonly #life = new Lifecycle<Exclude<RegistrationState, "closed">>(this, "registration", "registering");
  /** Bumped on every (re-)registration so that late signals of an old lease or watch are ignored. */
  #generation = 0;
  #recovering: Promise<void> | undefined;
  /** The follow of the current registration's key (its watch, and the reads after a broken watch). */
  #checking: Promise<void> | undefined;
  /** Ends that follow: aborted on a loss and on deregistration. */
  #following: AbortController | undefined;
  /** When the current registration, or the current watch of its key, was set up (`performance.now()`). */
  #heldSince = 0;
  /** When the last lease grant was issued (`performance.now()`). */
  #lastGrantAt = Number.NEGATIVE_INFINITY;
  #closed: Promise<void> | undefined;
  /** Ends the registration's hold on the process (and its client-close hook). */
  readonly #detach: () => void;
  /** Serializes writes (update vs. re-registration). */
  #writes: Promise<unknown> = Promise.resolve();

  /** @internal Use {@link register}. */
  constructor(etcd: EtcdPort, options: RegisterOptions) {
    super();
    this.#etcd = etcd;
    this.#codec = options.codec ?? goEndpointsCodec();
    this.#ttl = options.ttl ?? 10;
    this.#health = options.health;
    this.#backoff = new Backoff({
      initialMs: options.backoff?.initialMs ?? 100,
      maxMs: options.backoff?.maxMs ?? 5000,
    });
    this.#instance = toInstance(options);
    // Holds the process until deregistered. A client closed first deregisters it before it cuts its
    // connections (so the lease is revoked and the key goes at once), and ends it if that did not happen.
    this.#detach = etcd._attach(
      () => void this.deregister(),
      () => this.deregister(),
    );
  }

  /** The instance as last written. */
  get instance(): ServiceInstance {
    return this.#instance;
  }

  /** The etcd key of the instance. */
  get key(): string {
    return this.#codec.key(this.#instance);
  }

  /**
   * The ID of the lease the instance is registered under; it changes on re-registration. While
   * re-registering (state `reregistering`) and after the end, it is the last lease's (lost or revoked:
   * a key put under it fails with `LeaseNotFoundError` rather than outliving the instance).
   */
  get leaseId(): bigint {
    return this.#leaseId;
  }

  /** `registering` (the first attempt), `registered`, `reregistering` (after a loss) or `closed`. */
  get state(): RegistrationState {
    return this.#life.state;
  }

  /**
   * Resolves once the registration is over: `undefined` when this process ended it (`deregister()`,
   * `close()`, the client closing). A loss of the key is not an end (it re-registers). Never rejects.
   */
  get closed(): Promise<Error | undefined> {
    return this.#life.closed;
  }

  /** Aborted once the registration is over (reason: a `ClosedError`). */
  get signal(): AbortSignal {
    return this.#life.signal;
  }

  /** Changes the instance's metadata in place (same key, same lease). */
  async update(metadata: unknown): Promise<void> {
    await this.#rewrite({ ...this.#instance, metadata: metadata ?? null });
  }

  /**
   * Marks the instance draining: discovery clients stop sending it new calls. Call before `deregister()`.
   * With a `health` status, every service of it turns NOT_SERVING first.
   */
  async drain(): Promise<void> {
    if (this.#life.ended) throw new RegistrationClosedError();
    this.#health?.shutdown();
    await this.#rewrite({ ...this.#instance, draining: true });
  }

  /**
   * Revokes the lease: the key disappears at once. Stops re-registering. Idempotent; never rejects (a
   * failed revoke leaves the key until its lease's TTL runs out).
   */
  deregister(): Promise<void> {
    this.#closed ??= (async () => {
      // A server that registered is going away (one that never did keeps its health as it was): its
      // health says so, and its Watch streams end so that a graceful stop of the server need not wait.
      if (this.#leaseId !== 0n) {
        this.#health?.shutdown();
        this.#health?.endWatches();
      }
      this.#life.end();
      this.#closing.abort(new RegistrationClosedError());
      this.#generation++;
      this.#following?.abort();
      void this.#watcher?.close();
      await this.#recovering?.catch(() => {});
      await this.#checking?.catch(() => {});
      const lease = this.#lease;
      this.#lease = undefined;
      for (const q of this.#subscribers) q.end();
      this.#subscribers.clear();
      if (lease) await lease.revoke().catch(() => {});
      this.#detach();
    })();
    return this.#closed;
  }

  /** Same as {@link deregister}. */
  close(): Promise<void> {
    return this.deregister();
  }

  /** Same as {@link deregister}, for `await using`. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.deregister();
  }

  /** Iterates over registration events from now on; ends on deregistration. */
  [Symbol.asyncIterator](): AsyncIterator<RegistrationEvent> {
    const queue = new QueuedIterator<RegistrationEvent>({ onStop: () => this.#subscribers.delete(queue) });
    if (this.#life.ended) queue.end();
    else this.#subscribers.add(queue);
    return queue[Symbol.asyncIterator]();
  }

  /**
   * @internal First registration: fails (and closes) on conflict or error; with `waitForEtcd`, retries
   * the failures {@link isWorthWaiting} with backoff until `signal` aborts or the registration closes.
   */
  async _start(signal: AbortSignal | undefined, waitForEtcd: boolean): Promise<void> {
    try {
      for (;;) {
        try {
          await this.#registerOnce(signal);
          break;
        } catch (err) {
          // Aborted while it waited between grants: the signal's reason, typed.
          if (signal?.aborted && !(err instanceof EtcdError)) throw aborted(err);
          if (!waitForEtcd || !isWorthWaiting(err) || signal?.aborted || this.#closing.signal.aborted)
            throw err;
          this.emit("retry", err as Error);
          await sleep(this.#backoff.next(), signal, this.#closing.signal);
          if (this.#closing.signal.aborted) throw new ClientClosedError();
          if (signal?.aborted) throw aborted(err);
        }
      }
      this.#backoff.reset();
    } catch (err) {
      await this.deregister();
      throw err;
    }
    this.#publish({ type: "registered", instance: this.#instance, leaseId: this.#lease!.id });
    this.#diagnoseRegistered(false);
    this.emit("registered", this.#instance);
  }

  async #rewrite(next: ServiceInstance): Promise<void> {
    if (this.#life.ended) throw new RegistrationClosedError();
    const run = this.#writes.then(async () => {
      this.#instance = next;
      const lease = this.#lease;
      // While re-registering, the next registration writes the new instance.
      if (this.#life.state !== "registered" || !lease) return;
      const key = this.key;
      const res = await this.#etcd
        .txn()
        .if(compare.lease(key, "=", lease.id))
        .onSuccess(op.put(key, this.#codec.encode(next), { lease: lease.id }))
        .commit();
      if (!res.succeeded) this.#onLoss(this.#generation, "key-replaced");
    });
    this.#writes = run.catch(() => {});
    await run;
  }

  /** Grants a lease, writes the key if absent (or ours), then watches the key for deletion. */
  async #registerOnce(signal: AbortSignal | undefined): Promise<void> {
    const early = this.#lastGrantAt + MIN_GRANT_INTERVAL_MS - performance.now();
    if (early > 0) {
      await sleep(early, signal);
      if (signal?.aborted) throw signal.reason;
    }
    this.#lastGrantAt = performance.now();
    const lease = await this.#etcd.lease.grant(this.#ttl, { signal });
    const generation = ++this.#generation;
    try {
      const key = this.key;
      const value = this.#codec.encode(this.#instance);
      const res = await this.#etcd
        .txn()
        .if(compare.createRevision(key, "=", 0))
        .onSuccess(op.put(key, value, { lease: lease.id }))
        .onFailure(op.get(key))
        .commit({ signal });
      let revision = res.revision;
      if (!res.succeeded) {
        const holder = res.results[0].kvs[0];
        const previous = this.#lease?.id;
        const ours =
          holder && (holder.lease === lease.id || (previous !== undefined && holder.lease === previous));
        if (!holder || !ours) throw new RegistrationConflictError(key, holder?.lease ?? 0n);
        // Our own key under our previous lease (lost by deadline, still alive on the server): take it over.
        const again = await this.#etcd
          .txn()
          .if(compare.lease(key, "=", holder.lease))
          .onSuccess(op.put(key, value, { lease: lease.id }))
          .commit({ signal });
        if (!again.succeeded) throw new RegistrationConflictError(key, 0n);
        revision = again.revision;
      }
      const old = this.#lease;
      this.#lease = lease;
      this.#leaseId = lease.id;
      if (old && old.id !== lease.id) old.revoke().catch(() => {});
      // Closed meanwhile: deregister() revokes the lease just stored.
      if (this.#closing.signal.aborted) return;
      this.#life.set("registered");
      onLeaseEnd(lease, (error) => {
        if (error) this.#onLoss(generation, "lease-lost");
      });
      const following = new AbortController();
      this.#following = following;
      this.#checking = this.#followKey(key, revision + 1n, lease.id, generation, following.signal);
    } catch (err) {
      lease.revoke().catch(() => {});
      throw err;
    }
  }

  /**
   * Follows our own key (the one follower), from `from`: a delete (by hand) or a put under another lease
   * is a loss. A watch that ends with an error (refused, canceled by the server, a compaction it could
   * not resync) says nothing about the key: it is read. Ours → watched again from the read; gone →
   * `key-deleted`; under another lease → `key-replaced`; the read fails → stay registered, read again
   * with backoff (none after a watch that held for a TTL).
   */
  async #followKey(
    key: string,
    from: bigint,
    leaseId: bigint,
    generation: number,
    signal: AbortSignal,
  ): Promise<void> {
    await follow<undefined>(
      {
        read: async (signal) => {
          const res = await this.#etcd.range(key, { signal });
          return this.#stillOurs(res.kvs[0], leaseId, generation) ? readAt(res.revision) : done(undefined);
        },
        watch: (from) => this.#watchKey(key, from, leaseId, generation),
        failed: (err, during) => {
          // The client is closed: nothing can be registered any more.
          if (during === "read" && err instanceof ClientClosedError) {
            void this.deregister();
            return false;
          }
          this.emit("retry", err instanceof Error ? err : new Error(String(err)));
          return true;
        },
      },
      { signal, from, backoff: this.#backoff, healthyMs: this.#ttl * 1000 },
    );
  }

  /** One watch of our own key from `from`, until a loss or its end (`broken` when with an error). */
  async #watchKey(
    key: string,
    from: bigint,
    leaseId: bigint,
    generation: number,
  ): Promise<FollowBroken | FollowDone<undefined>> {
    void this.#watcher?.close();
    this.#heldSince = performance.now();
    let watcher: Watcher;
    try {
      watcher = this.#etcd.watch(key, { startRevision: from, onCompacted: "resync" });
    } catch {
      // `watch()` throws only once the client is closed.
      void this.deregister();
      return done(undefined);
    }
    this.#watcher = watcher;
    watcher.on("batch", (batch) => {
      if (batch.resync) {
        this.#stillOurs(batch.resync[0], leaseId, generation);
        return;
      }
      for (const e of batch.events) {
        if (e.type === "delete") return this.#onLoss(generation, "key-deleted");
        if (e.kv && e.kv.lease !== leaseId) return this.#onLoss(generation, "key-replaced");
      }
    });
    const error = await watcher.closed;
    if (this.#watcher === watcher) this.#watcher = undefined;
    return error ? broken(error) : done(undefined);
  }

  /** Whether `kv` (our key as read, or as a resync gave it) is still ours; if not, the loss is reported. */
  #stillOurs(kv: KeyValue | undefined, leaseId: bigint, generation: number): boolean {
    if (!kv) this.#onLoss(generation, "key-deleted");
    else if (kv.lease !== leaseId) this.#onLoss(generation, "key-replaced");
    else return true;
    return false;
  }

  /**
   * How long to wait before retrying after a failure: nothing (and the backoff restarts) when what
   * failed had held for a TTL, else the next backoff step.
   */
  #delayAfterFailure(): number {
    return this.#backoff.afterRun(this.#heldSince, this.#ttl * 1000);
  }

  #onLoss(generation: number, reason: RegistrationLossReason): void {
    if (generation !== this.#generation || this.#life.state !== "registered") return;
    this.#life.set("reregistering");
    this.#generation++;
    this.#following?.abort();
    void this.#watcher?.close();
    this.#watcher = undefined;
    const error = new RegistrationLostError(reason);
    const delay = this.#delayAfterFailure();
    this.#publish({ type: "lost", error });
    const registrationLost = this.#etcd._diagnostics?.().registrationLost;
    if (registrationLost?.hasSubscribers)
      registrationLost.publish({ key: this.key, leaseId: this.#lease?.id, reason, error });
    this.emit("lost", error);
    this.#recovering = this.#recover(delay);
  }

  /**
   * Re-registers with backoff until it succeeds or the registration is closed. The first attempt waits
   * `delay` (none when the lost registration had held for a TTL, else the next backoff step).
   */
  async #recover(delay: number): Promise<void> {
    const signal = this.#closing.signal;
    while (!signal.aborted) {
      if (delay > 0) await sleep(delay, signal);
      if (signal.aborted) return;
      try {
        const attempt = this.#writes.then(() => this.#registerOnce(signal));
        this.#writes = attempt.catch(() => {});
        await attempt;
        if (signal.aborted) return;
        this.#publish({ type: "reregistered", instance: this.#instance, leaseId: this.#lease!.id });
        this.#diagnoseRegistered(true);
        this.emit("reregistered", this.#instance);
        return;
      } catch (err) {
        if (signal.aborted) return;
        // The client is closed: nothing can be registered any more (its leases stop being kept alive).
        if (err instanceof ClientClosedError) {
          void this.deregister();
          return;
        }
        this.emit("retry", err instanceof Error ? err : new Error(String(err)));
        delay = this.#backoff.next();
      }
    }
  }

  /** Publishes on `etcd-ts:registration:registered`, when anyone listens. */
  #diagnoseRegistered(reregistered: boolean): void {
    const registrationRegistered = this.#etcd._diagnostics?.().registrationRegistered;
    if (registrationRegistered?.hasSubscribers)
      registrationRegistered.publish({ key: this.key, leaseId: this.#lease!.id, reregistered });
  }

  #publish(event: RegistrationEvent): void {
    for (const q of this.#subscribers) q.push(event);
  }
}
