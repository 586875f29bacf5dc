import { KV, type PutResponse, type RangeResponse } from "../gen/etcdserverpb/rpc_pb.js";
import { createAuthTokenSource } from "./auth/token.js";
import { AuthClient } from "./auth-admin/auth-client.js";
import { RangeCache } from "./cache/range-cache.js";
import type { RangeCacheOptions } from "./cache/types.js";
import type { AdminContext } from "./call/admin-context.js";
import { UnaryCaller } from "./call/caller.js";
import { ConnectionPool } from "./call/pool.js";
import { RevisionFloor } from "./call/revision-floor.js";
import type { CallOptions } from "./call-options.js";
import { ClusterClient } from "./cluster/cluster-client.js";
import type { MemberInfo } from "./cluster/member.js";
import { ClientClosedError, InvalidArgumentError, InvalidUsageError } from "./core/errors.js";
import { ProcessRef } from "./core/process-ref.js";
import { checkInteger, checkOptionsObject } from "./core/validation.js";
import type { DiagnosticsChannels } from "./diagnostics/channels.js";
import type { Bytes } from "./kv/bytes.js";
import { KeyValue } from "./kv/key-value.js";
import { type RangeSource, scanRange } from "./kv/range-scan.js";
import { openRangeStream } from "./kv/range-stream.js";
import {
  deleteRequest,
  deleteResult,
  type PutRequestInit,
  putRequest,
  putResult,
  type RangeRequestInit,
  rangeRequest,
  rangeResult,
} from "./kv/requests.js";
import type {
  DeleteOptions,
  DeleteResult,
  IterateOptions,
  KeyRange,
  PutOptions,
  PutResult,
  RangeOptions,
  RangeResult,
} from "./kv/types.js";
import { LeaseKeeper } from "./lease/lease-keeper.js";
import { Leases } from "./lease/leases.js";
import type { LockServiceContext } from "./lock-service/context.js";
import { ElectionService } from "./lock-service/election-service.js";
import { LockService } from "./lock-service/lock-service.js";
import { MaintenanceClient } from "./maintenance/maintenance-client.js";
import type { MemberStatus } from "./maintenance/types.js";
import { Mirror } from "./mirror/mirror.js";
import type { MirrorOptions } from "./mirror/types.js";
import { type Keyspace, Namespace, WHOLE_KEYSPACE } from "./namespace/namespace.js";
import { type EtcdOptions, type ResolvedOptions, resolveEndpoints, resolveOptions } from "./options.js";
import type { Platform } from "./platform/platform.js";
import type { EtcdPort } from "./port.js";
import { usableClientUrls } from "./transport/endpoint-address.js";
import { Txn } from "./txn/txn.js";
import type { WatchOptions } from "./watch/types.js";
import { WatchHub } from "./watch/watch-hub.js";
import type { Watcher } from "./watch/watcher.js";

export type { MemberInfo } from "./cluster/member.js";
export type { IterateOptions } from "./kv/types.js";
export type { MemberStatus } from "./maintenance/types.js";

/**
 * An etcd v3 client: one connection per endpoint, failover with jittered backoff, safe retries,
 * auth tokens, TLS. `close()` (or `await using`) releases every socket and timer.
 *
 * @example
 * ```ts
 * await using etcd = new Etcd({ endpoints: ["http://127.0.0.1:2379"] });
 * await etcd.put("greeting", "hello");
 * console.log((await etcd.get("greeting"))?.text());
 * ```
 */
export class Etcd implements EtcdPort, AsyncDisposable {
  /**
   * @internal What differs per runtime (the default transport, the diagnostics channels, ...): set by the
   * `Etcd` of each package entry (`etcd-ts`, `etcd-ts/web`), read from `new.target`. This class alone has
   * none.
   */
  protected static readonly platform: Platform | undefined = undefined;
  readonly #platform: Platform;
  readonly #diagnostics: DiagnosticsChannels;
  readonly #options: ResolvedOptions;
  readonly #pool: ConnectionPool;
  readonly #caller: UnaryCaller;
  readonly #closing = new AbortController();
  /** Holds the process while a watch, kept-alive lease, registration or discovery of this client is open. */
  readonly #processRef = new ProcessRef();
  /** What must still reach etcd when the client closes, before it cuts its connections (see `_attach`). */
  readonly #beforeClose = new Set<() => Promise<void>>();
  #syncTimer: ReturnType<typeof setInterval> | undefined;
  #closed: Promise<void> | undefined;
  /** Cluster membership: list, add, remove, update, promote (see docs/admin.md). */
  readonly cluster: ClusterClient;
  /** Maintenance: status, alarms, defragment, hashes, snapshots, moveLeader, downgrade. */
  readonly maintenance: MaintenanceClient;
  /** Auth management: enable, disable, status, users, roles. */
  readonly auth: AuthClient;
  /** Leases: grant (kept alive on one shared LeaseKeepAlive stream), revoke, timeToLive, list. */
  readonly lease: Leases;
  /**
   * etcd's server-side Lock service: `lock(name, { lease })`, `unlock(key)`, Go's Mutex keys (see
   * docs/concurrency.md, "Server-side lock and election"). Namespaced on a view like every key.
   */
  readonly lockService: LockService;
  /**
   * etcd's server-side Election service: `campaign`, `proclaim`, `leader`, `observe`, `resign`, Go's
   * Election keys. Namespaced on a view like every key.
   */
  readonly electionService: ElectionService;
  readonly #watches: WatchHub;
  /**
   * Where this client's keys live: the whole keyspace, or on a view made by `namespace()` its namespace.
   * Every key-value request and answer goes through it, the one place a view's keys are changed.
   */
  readonly #keys: Keyspace;

  /**
   * @internal The form {@link Etcd.namespace} uses: a view of `parent` whose keys live in `namespace`.
   * Two arguments, so that a call with options never considers this form (their types stay contextual).
   */
  constructor(namespace: Namespace, parent: Etcd);
  /** Validates `options` (throwing `InvalidArgumentError` naming the field); connects lazily on first call. */
  // Last: `ConstructorParameters<typeof Etcd>` reads the last form.
  constructor(options: EtcdOptions);
  constructor(options: EtcdOptions | Namespace, parent?: Etcd) {
    if (options instanceof Namespace) {
      if (!parent) throw new InvalidArgumentError("options", "must be an options object");
      // A view: the same connection, call path, watch hub, lease keeper and process ref as its parent.
      this.#options = parent.#options;
      this.#platform = parent.#platform;
      this.#diagnostics = parent.#diagnostics;
      this.#pool = parent.#pool;
      this.#caller = parent.#caller;
      this.#closing = parent.#closing;
      this.#processRef = parent.#processRef;
      this.#beforeClose = parent.#beforeClose;
      this.#watches = parent.#watches;
      this.cluster = parent.cluster;
      this.maintenance = parent.maintenance;
      this.auth = parent.auth;
      this.#keys = options;
      this.lease = parent.lease._namespace(options);
      [this.lockService, this.electionService] = this.#lockServices();
      return;
    }
    this.#keys = WHOLE_KEYSPACE;
    const platform = (new.target as typeof Etcd).platform;
    if (platform === undefined)
      throw new InvalidUsageError(
        "this Etcd class has no platform: import Etcd from etcd-ts (Node, Bun, Deno) or etcd-ts/web",
      );
    this.#platform = platform;
    const o = resolveOptions(options);
    // One listener per live object attached (_attach), removed when it closes: many are normal, not a leak.
    platform.unlimitedListeners(this.#closing.signal);
    this.#options = o;
    const diagnostics = platform.diagnostics();
    this.#diagnostics = diagnostics;
    const factory =
      o.transport ??
      ((endpoint) =>
        platform.createDefaultTransport(endpoint, {
          keepaliveIntervalMs: o.keepaliveIntervalMs,
          keepaliveTimeoutMs: o.keepaliveTimeoutMs,
          connectTimeoutMs: o.connectTimeoutMs,
          maxSendMessageBytes: sendLimitFor(o.maxRequestBytes),
          builtin: o.builtinTransport,
        }));
    const auth = createAuthTokenSource(o.auth, {
      closed: this.#closing.signal,
      timeoutMs: o.timeoutMs,
      diagnostics,
    });
    this.#pool = new ConnectionPool(o.endpoints, {
      cooldownMs: o.endpointCooldownMs,
      factory,
      auth,
      timeoutMs: o.timeoutMs,
      requireLeader: o.requireLeader,
      interceptors: o.interceptors,
      diagnostics,
    });
    this.#caller = new UnaryCaller(
      this.#pool,
      {
        timeoutMs: o.timeoutMs,
        maxAttempts: o.maxAttempts,
        backoff: o.backoff,
        floor: o.monotonicReads ? new RevisionFloor() : undefined,
      },
      this.#closing.signal,
    );
    const admin: AdminContext = {
      caller: this.#caller,
      pool: this.#pool,
      closed: this.#closing.signal,
      writeSnapshotFile: platform.writeSnapshotFile,
    };
    this.cluster = new ClusterClient(admin);
    this.maintenance = new MaintenanceClient(admin);
    this.auth = new AuthClient(admin);
    [this.lockService, this.electionService] = this.#lockServices();
    const stream = { ...o.streams };
    this.lease = new Leases(
      new LeaseKeeper(this.#pool, { ...stream, safetyMarginMs: 500 }, this.#processRef),
      this.#caller,
    );
    this.#watches = new WatchHub(
      this.#pool,
      { ...stream, maxBufferedEvents: 10_000, unlimitedListeners: platform.unlimitedListeners },
      (request, signal) => this.#caller.call({ method: KV.method.range, options: { signal } }, request),
      this.#processRef,
    );
    if (o.autoSyncIntervalMs > 0) {
      this.#syncTimer = setInterval(() => {
        this.syncEndpoints().catch((error: unknown) => {
          // A failed sync keeps the current list; the next tick tries again. Whoever watches hears of it.
          const { autoSyncError } = diagnostics;
          if (autoSyncError.hasSubscribers)
            autoSyncError.publish({
              endpoints: this.endpoints,
              error: error instanceof Error ? error : new Error(String(error)),
            });
        });
      }, o.autoSyncIntervalMs);
      this.#syncTimer.unref?.();
    }
  }

  /** @internal The diagnostics channels this client publishes on (the platform's), for registrations. */
  _diagnostics(): DiagnosticsChannels {
    return this.#diagnostics;
  }

  /**
   * @internal For long-lived things built on this client (registrations, discoveries): holds the
   * process until the returned release is called, and calls `onClientClose` when the client closes
   * first (the process is released then too). `beforeClientClose`, when given, runs when `close()` is
   * called, before anything is closed, and `close()` waits for it: the last calls of something that
   * cleans up on the server (a registration revokes its lease). Throws `ClientClosedError` on a closed
   * client.
   */
  _attach(onClientClose: () => void, beforeClientClose?: () => Promise<void>): () => void {
    if (this.#closing.signal.aborted) throw new ClientClosedError();
    const release = this.#processRef.acquire();
    const onAbort = () => {
      release();
      onClientClose();
    };
    this.#closing.signal.addEventListener("abort", onAbort, { once: true });
    if (beforeClientClose) this.#beforeClose.add(beforeClientClose);
    return () => {
      this.#closing.signal.removeEventListener("abort", onAbort);
      if (beforeClientClose) this.#beforeClose.delete(beforeClientClose);
      release();
    };
  }

  /**
   * A view of this client in which every key is under `prefix` (etcd's Go `namespace` package, same keys
   * and edge cases): its reads, writes, txns (guards and ops, nested txns too), watches and lease key lists
   * add the prefix going out and strip it coming in; a `{ fromKey }` range or `"\0"` range end stops at
   * the end of the namespace. It is an `Etcd`, so Session, Mutex, Election, runStm, register and discover
   * take it. It shares this client's connection, watch stream, lease keeper and lifetime: `close()` on a
   * view does nothing (it holds nothing of its own), and closing this client ends what the view made.
   * Cluster, maintenance, auth, `compact` and endpoints are this client's, not namespaced. A view of a view
   * nests: `etcd.namespace("a/").namespace("b/")` writes under `a/b/`. `prefix` is a non-empty string or
   * Uint8Array (else `InvalidArgumentError`). See docs/client.md, "Namespaces".
   */
  namespace(prefix: Bytes): Etcd {
    // The class of this client (the entry's `Etcd`), so that a view is an instance of what the user imported.
    return new (this.constructor as typeof Etcd)(Namespace.of(prefix, this.#keys.namespace), this);
  }

  /**
   * The raw prefix of this view's keys (a copy; empty for a client that is not a namespace view). Admin
   * calls are not namespaced: name it there, e.g. in a role's permission on `{ prefix: view.keyPrefix }`.
   */
  get keyPrefix(): Uint8Array {
    return this.#keys.prefix.slice();
  }

  /** The endpoints in use, in order (changes when endpoints are synced from the cluster). */
  get endpoints(): string[] {
    return this.#pool.endpoints.all.map((e) => e.url);
  }

  /** Reads one key; undefined when it does not exist. */
  get(
    key: Bytes,
    options?: Omit<RangeOptions, "limit" | "countOnly"> & CallOptions,
  ): Promise<KeyValue | undefined> {
    // A plain promise chain, not an async function: one hop less on the hottest call (bench/run.ts).
    let req: RangeRequestInit;
    try {
      req = rangeRequest(key, options);
    } catch (err) {
      return Promise.reject(err);
    }
    return this.#range(req, options).then((res) => firstKeyValue(this.#keys.unprefixRange(res)));
  }

  /** Reads a key or a range (`{ prefix }`, `{ fromKey }`, `{ key, end }`) with limit, sort, revision, filters. */
  async range(range: Bytes | KeyRange, options?: RangeOptions & CallOptions): Promise<RangeResult> {
    return rangeResult(this.#keys.unprefixRange(await this.#range(rangeRequest(range, options), options)));
  }

  /**
   * Iterates over a range of any size at one revision, in key order. The first request reads `pageSize`
   * keys and fixes the revision, so later writes do not show up; the rest comes as one `RangeStream`
   * where the endpoint's server has it (etcd >= 3.7, known from its version), else `pageSize` keys per
   * request. The keys are the same either way. See docs/client.md, "Large reads".
   */
  iterate(range: Bytes | KeyRange, options: IterateOptions = {}): AsyncGenerator<KeyValue, void, undefined> {
    return keyValues(this._scan(range, options));
  }

  /**
   * @internal `iterate()` in batches (a page or a stream chunk each), returning the revision the range
   * was read at: the store's revision at the first request unless `options.revision` names one. The
   * watch cache loads its range with it.
   */
  _scan(
    range: Bytes | KeyRange,
    options: IterateOptions = {},
  ): AsyncGenerator<KeyValue[], bigint, undefined> {
    checkOptionsObject(options);
    const pageSize = checkInteger(options.pageSize ?? 1000, "pageSize", 1);
    const limit = checkInteger(options.limit ?? 0, "limit");
    const base = rangeRequest(range, {
      revision: options.revision,
      serializable: options.serializable,
      keysOnly: options.keysOnly,
    });
    return scanRange(this.#rangeSource(options), base, { pageSize, limit });
  }

  /** Writes a key. Writes are retried only when the request provably never left (see docs/client.md). */
  put(key: Bytes, value: Bytes, options?: PutOptions & CallOptions): Promise<PutResult> {
    let req: PutRequestInit;
    try {
      req = putRequest(key, value, options ?? {}, this.#options.maxRequestBytes);
    } catch (err) {
      return Promise.reject(err);
    }
    return this.#caller
      .call({ method: KV.method.put, options }, this.#keys.prefixPut(req))
      .then((res: PutResponse) => putResult(this.#keys.unprefixPut(res)));
  }

  /** Deletes a key or a range. */
  async delete(range: Bytes | KeyRange, options?: DeleteOptions & CallOptions): Promise<DeleteResult> {
    const req = this.#keys.prefixBounds(deleteRequest(range, options));
    const res = await this.#caller.call({ method: KV.method.deleteRange, options }, req);
    return deleteResult(this.#keys.unprefixDelete(res));
  }

  /**
   * Starts a transaction: `.if(...guards).onSuccess(...ops).onFailure(...ops).commit()`. A txn whose
   * ops only read is retried like a read; any write makes it a write.
   */
  txn(): Txn {
    const keys = this.#keys;
    // The retry table tells a txn that only reads from one that writes (retryKindOfCall).
    return new Txn((request, _readOnly, options) =>
      this.#caller
        .call({ method: KV.method.txn, options }, keys.prefixTxn(request))
        .then((res) => keys.unprefixTxn(res)),
    );
  }

  /**
   * Compacts the key-value history up to `revision`. `physical: true` waits until the space is
   * reclaimed. Reads of older revisions then fail with `CompactedError`.
   */
  async compact(
    revision: number | bigint,
    options?: { physical?: boolean | undefined } & CallOptions,
  ): Promise<void> {
    const req = { revision: checkInteger(revision, "revision", 1), physical: options?.physical ?? false };
    await this.#caller.call({ method: KV.method.compact, options }, req);
  }

  /** Lists the cluster's members (same as `etcd.cluster.list()`). */
  memberList(options?: CallOptions): Promise<MemberInfo[]> {
    return this.cluster.list(options);
  }

  /** Status of the member that answers (the pinned one unless it fails; no leader needed). */
  async status(options?: CallOptions): Promise<MemberStatus> {
    const s = await this.maintenance.status(undefined, options);
    return {
      memberId: s.memberId,
      leader: s.leader,
      revision: s.revision,
      raftTerm: s.raftTerm,
      version: s.version,
      endpoint: s.endpoint,
    };
  }

  /**
   * Replaces the endpoint list with the client URLs of the cluster's voting members: those with a scheme
   * of the configured endpoints, else those with the same security (http/unix plain, https/unixs TLS).
   * Runs every `autoSyncIntervalMs` when that option is set.
   */
  async syncEndpoints(options?: CallOptions): Promise<string[]> {
    const members = await this.cluster.list(options);
    const urls = members.filter((m) => !m.isLearner).flatMap((m) => m.clientUrls);
    const usable = usableClientUrls(urls, this.#options.endpoints);
    if (usable.length > 0) await this.#pool.setEndpoints(resolveEndpoints(usable, this.#options.tls));
    return this.endpoints;
  }

  /**
   * Watches a key or a range, named as reads name them (`"key"`, `{ prefix }`, `{ key, end }`,
   * `{ fromKey }`): an async iterable of event batches (and an event emitter), multiplexed with every
   * other watch of this client on one stream, resumed after any break from its own last delivered
   * revision. See docs/leases-and-watches.md.
   */
  watch(range: Bytes | KeyRange, options?: WatchOptions): Watcher {
    return this.#watches.watch(range, options, this.#keys.namespace);
  }

  /**
   * A consistent in-memory mirror of a key or range (named as reads name them): read at one revision,
   * then kept up to date by a watch from the next one, resynced after a compaction. `get()` and
   * `range()` answer from memory; `waitForRevision()` gives read-your-writes; `change` events and
   * `for await` follow it. Holds the process until closed. See docs/cache.md.
   */
  cache(range: Bytes | KeyRange, options?: RangeCacheOptions): RangeCache {
    return new RangeCache(this, range, options);
  }

  /**
   * Every key under `prefix` (the empty prefix: every key) for copying to another cluster, as etcd's Go
   * `mirror.Syncer`: an async iterable of the prefix read at one revision in pages (`base` batches, then a
   * `synced` batch with that revision), then of its changes from the next revision on (`changes`), pulled
   * by the loop that writes them. After a compaction it could not follow across it ends with a
   * `WatchCompactedError`, or with `onCompacted: "resync"` reads the prefix again. Holds the process
   * until closed. See docs/client.md, "Mirroring a prefix".
   */
  mirror(prefix: Bytes, options?: MirrorOptions): Mirror {
    return new Mirror(this, prefix, options);
  }

  /** Asks the server for a progress notification on the shared watch stream (see the 15220 caveat in the docs). */
  requestWatchProgress(): void {
    this.#watches.requestProgress();
  }

  /**
   * Closes every watch, lease keeper, connection and timer; calls in flight fail with `ClientClosedError`.
   * Open registrations (`etcd-ts/discovery`) are deregistered first: their leases are revoked, so their
   * keys go at once (within the client's `timeoutMs`; a failed revoke leaves a key to its TTL). Other
   * leases are not revoked: they expire on the server after their TTL. Safe to call twice. On a view made
   * by `namespace()` it resolves at once and closes nothing: the view holds nothing of its own, and what it
   * made (watches, leases, sessions...) belongs to the client it views, which ends them when it closes.
   */
  close(): Promise<void> {
    // A view owns nothing: what it made belongs to the client it views.
    if (this.#keys.namespace) return Promise.resolve();
    this.#closed ??= (async () => {
      // Each never rejects; each removes itself from the set once done.
      await Promise.all([...this.#beforeClose].map((cleanUp) => cleanUp()));
      clearInterval(this.#syncTimer);
      this.#closing.abort(new ClientClosedError());
      await Promise.allSettled([this.#watches.close(), this.lease.close()]);
      await this.#pool.close();
    })();
    return this.#closed;
  }

  /** Same as `close()`, for `await using`. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  /** Shows endpoints and the user name (or which form of token auth), never a password or token. */
  [Symbol.for("nodejs.util.inspect.custom")](): string {
    const auth = this.#options.auth;
    const user =
      auth === undefined
        ? ""
        : auth.kind === "password"
          ? `, user: ${JSON.stringify(auth.username)}`
          : `, auth: ${auth.kind}`;
    const ns = this.#keys.namespace
      ? `namespace: ${JSON.stringify(new TextDecoder().decode(this.#keys.prefix))}, `
      : "";
    const closed = this.#closing.signal.aborted ? ", closed" : "";
    return `Etcd { ${ns}endpoints: ${JSON.stringify(this.endpoints)}${user}${closed} }`;
  }

  /** The server-side Lock and Election clients of this client (or view): its call path, its keys. */
  #lockServices(): [LockService, ElectionService] {
    const ctx: LockServiceContext = {
      caller: this.#caller,
      keys: this.#keys,
      closed: this.#closing.signal,
      attach: (onClientClose) => this._attach(onClientClose),
    };
    return [new LockService(ctx), new ElectionService(ctx)];
  }

  /** Where `iterate()` reads: Range calls and, on servers that have it, RangeStream (namespaced as reads are). */
  #rangeSource(options: CallOptions): RangeSource {
    const keys = this.#keys;
    const context = {
      caller: this.#caller,
      pool: this.#pool,
      closed: this.#closing.signal,
      timeoutMs: this.#options.timeoutMs,
    };
    return {
      page: (req) => this.#range(req, options).then((res) => keys.unprefixRange(res)),
      stream: async (req) => {
        const chunks = await openRangeStream(context, keys.prefixBounds(req), options);
        return chunks && keys.unprefixChunks(chunks);
      },
    };
  }

  /**
   * One Range call of a request named in this client's keys; the answer still carries the wire keys
   * (callers strip them with `#keys.unprefixRange`, in the step they take anyway: no extra hop on `get`).
   */
  #range(req: RangeRequestInit, options: CallOptions | undefined): Promise<RangeResponse> {
    // Serializable reads are answered locally and exist to work without a leader.
    const spec = { method: KV.method.range, options, ...(req.serializable ? { hasleader: false } : {}) };
    // Every page of iterate() comes through here unprefixed: its next key is a stripped key + "\0".
    return this.#caller.call(spec, this.#keys.prefixBounds(req));
  }
}

/** The keys of a scan's batches, one by one. */
async function* keyValues(
  batches: AsyncGenerator<KeyValue[], bigint, undefined>,
): AsyncGenerator<KeyValue, void, undefined> {
  for await (const batch of batches) yield* batch;
}

function firstKeyValue(res: RangeResponse): KeyValue | undefined {
  return res.kvs.length > 0 ? new KeyValue(res.kvs[0]!) : undefined;
}

/**
 * The transport's send limit for a client that checks requests against `maxRequestBytes` itself: at
 * least 2 MiB (gRPC-Go's default), and room for a request at that limit plus its framing, so that a
 * larger server limit is usable and the server, not the transport, judges what is too large.
 */
function sendLimitFor(maxRequestBytes: number): number {
  return Math.max(2 * 1024 * 1024, maxRequestBytes + 64 * 1024);
}
