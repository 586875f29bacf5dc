import { create } from "@bufbuild/protobuf";
import { Code } from "@connectrpc/connect";
import { KeyValueSchema } from "../../gen/mvccpb/kv_pb.js";
import { fromByteString, toByteString } from "../cache/byte-string.js";
import type { CallOptions } from "../call-options.js";
import { isRetryable } from "../concurrency/key.js";
import { Session } from "../concurrency/session.js";
import { recheckBackoff } from "../core/backoff.js";
import {
  AbortedError,
  ClosedError,
  DeadlineExceededError,
  InvalidArgumentError,
  LeaseNotFoundError,
} from "../core/errors.js";
import { EventEmitter } from "../core/event-emitter.js";
import { Lifecycle } from "../core/lifecycle.js";
import { anySignal, sleep, untilAborted, type WaitSignal, waitSignal } from "../core/signals.js";
import { checkOptionsObject, checkSignal, checkTtl, shownInput } from "../core/validation.js";
import { broken, done, type FollowBroken, type FollowDone, follow, readAt } from "../follow/follow.js";
import { type Bytes, toBytes } from "../kv/bytes.js";
import { KeyValue } from "../kv/key-value.js";
import type {
  DeleteOptions,
  DeleteResult,
  KeyRange,
  PutOptions,
  PutResult,
  RangeOptions,
} from "../kv/types.js";
import { checkPort, type EtcdPort } from "../port.js";
import { type Comparison, compare } from "../txn/compare.js";
import { op } from "../txn/ops.js";
import type { Txn, TxnRequestInit } from "../txn/txn.js";
import type { WatchEvent } from "../watch/types.js";
import { type AnyTxnResult, LeasingTxn, ranWrites, txnOpKeys, txnWrites } from "./leasing-txn.js";
import { type OwnedKey, OwnedKeys } from "./owned-keys.js";

/** The value a writer puts on an owner's leasing key to ask it to give the key up (Go's protocol). */
export const REVOKE_MARKER = "REVOKE";

/** Options of {@link LeasingKv.open}. */
export interface LeasingOptions {
  /**
   * TTL in seconds of the session lease the leasing keys are attached to: how long keys owned by a
   * process that died stay owned (writers wait that long). Default 60 (Go's session default).
   */
  ttl?: number | undefined;
  /** Aborts the opening (the grant of the session's lease); it then rejects with the abort's error. */
  signal?: AbortSignal | undefined;
}

/** Options of {@link LeasingKv.get}: those of `etcd.get()`. */
export type LeasingGetOptions = Omit<RangeOptions, "limit" | "countOnly"> & CallOptions;

/** Where a {@link LeasingKv} is: `open` until closed (or its client closed). */
export type LeasingState = "open" | "closed";

/** Events of a {@link LeasingKv}. */
export interface LeasingEvents {
  /** The state changed; emitted from a microtask. */
  state: [LeasingState];
  /** It closed, once: `undefined` when this process closed it or its client. */
  close: [Error | undefined];
}

interface RescindWaiter {
  /** The revision of the writer's revoke marker: a delete after it is what it waits for. */
  readonly revision: bigint;
  readonly resolve: () => void;
}

/** What `get()` options the owned copy of a key can answer; anything else goes to the server. */
const LOCAL_GET_OPTIONS = new Set(["serializable", "keysOnly", "signal", "timeoutMs", "metadata"]);

/**
 * A leasing KV (Go's `client/v3/leasing`, same keys and protocol): a linearizable `get()` of a key
 * acquires ownership of it by creating `<prefix><key>` on this client's session lease, and while it
 * owns the key, reads are answered from memory without a request. A `put()` or `delete()` through any
 * leasing KV on the same prefix (etcd-ts or Go's `leasing.NewKV`) writes only when no other client owns
 * the key; otherwise it puts `REVOKE` on the owner's leasing key and waits for the owner to delete it.
 * The owner learns of the revoke through one watch of the leasing prefix (the one follower), drops the
 * key and deletes its leasing key. So reads stay linearizable for every writer that goes through a
 * leasing KV; a write through a plain client is not seen by an owner until it loses ownership (Go's
 * rule: every writer of leased keys must use the leasing protocol).
 *
 * Ownership ends when the session's lease is lost (every key is then read from the server until a new
 * session is granted, which happens in the background). A live object (docs/client.md): `state`,
 * `closed`, `signal`, the `close` event, `close()` (deletes its leasing keys by revoking its session)
 * and `await using`.
 */
export class LeasingKv extends EventEmitter<LeasingEvents> implements AsyncDisposable {
  /** The prefix of the leasing keys (a copy). */
  readonly prefix: Uint8Array;
  readonly #etcd: EtcdPort;
  readonly #ttl: number;
  readonly #life = new Lifecycle<LeasingState>(this, "leasing KV", "open");
  readonly #keys = new OwnedKeys();
  readonly #stop = new AbortController();
  readonly #rescindWaiters = new Map<string, Set<RescindWaiter>>();
  readonly #sessionWaiters = new Set<() => void>();
  #session: Session | undefined;
  #detach: (() => void) | undefined;
  #following: Promise<unknown> | undefined;
  #closing: Promise<void> | undefined;

  private constructor(etcd: EtcdPort, prefix: Uint8Array, ttl: number, session: Session) {
    super();
    this.#etcd = etcd;
    this.prefix = prefix;
    this.#ttl = ttl;
    this.#useSession(session);
  }

  /**
   * Opens a leasing KV on `etcd` with leasing keys under `prefix` (a non-empty string or bytes, used as
   * is: Go's `leasing.NewKV(cli, prefix)` with the same prefix shares ownership with it). Grants the
   * session lease (a {@link Session} of `ttl` seconds) and starts following the leasing prefix. Holds
   * the process until closed; closing the client closes it. `etcd` is an `Etcd` or a namespace view.
   */
  static async open(etcd: EtcdPort, prefix: Bytes, options: LeasingOptions = {}): Promise<LeasingKv> {
    checkPort(etcd, "etcd");
    checkOptionsObject(options);
    checkSignal(options.signal);
    const pfx = toBytes(prefix, "prefix").slice();
    if (pfx.length === 0)
      throw new InvalidArgumentError(
        "prefix",
        "must not be empty (the leasing keys would be the keys themselves)",
      );
    const ttl = Number(checkTtl(options.ttl ?? 60));
    const session = await Session.create(etcd, { ttl, signal: options.signal });
    let lkv: LeasingKv;
    try {
      lkv = new LeasingKv(etcd, pfx, ttl, session);
      lkv.#detach = etcd._attach(
        () => lkv.#end(),
        () => lkv.close(),
      );
    } catch (err) {
      await session.close();
      throw err;
    }
    lkv.#following = lkv.#follow();
    return lkv;
  }

  /** `open` until closed. */
  get state(): LeasingState {
    return this.#life.state;
  }

  /** Resolves once closed: `undefined` (this process closed it or its client). Never rejects. */
  get closed(): Promise<Error | undefined> {
    return this.#life.closed;
  }

  /** Aborted when closed. */
  get signal(): AbortSignal {
    return this.#life.signal;
  }

  /** Number of keys this client owns now (answered from memory). */
  get ownedKeys(): number {
    return this.#keys.size;
  }

  /**
   * Reads one key; undefined when it does not exist. A key this client owns is answered from memory
   * (after any write of this client to it in flight). Otherwise a linearizable read acquires the key
   * (one txn: the read and the leasing key), unless ownership of it was lost less than 2 s ago (Go's
   * backoff) or the key is attached to a lease; a `serializable` read of a key not owned, and a read with
   * `revision` or a revision filter, go to the server as `etcd.get()` does.
   */
  async get(key: Bytes, options?: LeasingGetOptions): Promise<KeyValue | undefined> {
    checkOptionsObject(options);
    const k = this.#checkKey(key);
    this.#throwIfClosed();
    const session = this.#session;
    if (!session || !isLocal(options)) return this.#etcd.range(k, options).then((r) => r.kvs[0]);
    const bs = toByteString(k);
    let owned = this.#keys.get(bs);
    if (owned?.writing) {
      // A write of this client to the key is in flight: answer after it, as Go's reads wait on `waitc`.
      const wait = this.#waitFor("leasing get", options);
      try {
        while (owned?.writing) {
          await untilAborted(owned.writing, wait.signal);
          owned = this.#keys.get(bs);
        }
      } catch (err) {
        return wait.rethrow(err);
      } finally {
        wait.dispose();
      }
    }
    if (owned) return view(owned.kv, options);
    if (options?.serializable || !this.#keys.mayAcquire(bs))
      return this.#etcd.range(k, options).then((r) => r.kvs[0]);
    return this.#acquire(k, bs, session, options);
  }

  /**
   * Writes a key. When another client owns it, puts `REVOKE` on its leasing key and waits until that
   * owner gives it up, then writes; a key this client owns is written at once and its copy updated.
   * `timeoutMs` bounds the whole put, the wait for the owner included (default: each request has the
   * client's timeout; the wait is bounded by the owner's session TTL, after which its lease expires).
   */
  async put(key: Bytes, value: Bytes, options?: PutOptions & CallOptions): Promise<PutResult> {
    checkOptionsObject(options);
    const k = this.#checkKey(key);
    const putOp = op.put(k, value, options);
    const bytes = toBytes(value, "value");
    const res = await this.#write(k, putOp, "put", options, (owned, revision) =>
      updateOwnedCopy(owned, k, bytes, options, revision),
    );
    return res as PutResult;
  }

  /**
   * Deletes a key or a range, revoking other clients' ownership of the keys first (as `put()` does).
   * Same `timeoutMs` rule as `put()`.
   */
  async delete(range: Bytes | KeyRange, options?: DeleteOptions & CallOptions): Promise<DeleteResult> {
    checkOptionsObject(options);
    this.#throwIfClosed();
    if (typeof range === "object" && range !== null && !(range instanceof Uint8Array)) {
      const delOp = op.delete(range, options);
      return this.#deleteRange(range, delOp, options);
    }
    const k = this.#checkKey(range);
    const res = await this.#write(k, op.delete(k, options), "delete", options, (owned) => {
      owned.kv = undefined;
      return true;
    });
    return res as DeleteResult;
  }

  /**
   * Starts a txn through the leasing protocol (Go's leasing `Txn`): the builder of `etcd.txn()`
   * (`.if(...).onSuccess(...).onFailure(...).commit(options)`). `commit()` revokes other clients'
   * ownership of every key the txn may write (either branch, nested txns included) and waits for them
   * to give the keys up, then commits the txn on etcd nested in guards on those keys' leasing keys, again
   * when a new owner appeared meanwhile, and updates this client's owned copies of the keys written as
   * `put()` and `delete()` do. A txn that writes nothing is sent as `etcd.txn()` sends it. Reads and
   * guards are answered by etcd (linearizable); Go answers a txn on owned keys only from memory, etcd-ts
   * does not.
   */
  txn(): LeasingTxn {
    return new LeasingTxn(this.#etcd.txn(), (nested, direct, options) =>
      this.#commitTxn(nested, direct, options),
    );
  }

  /**
   * Closes: stops following the leasing prefix and revokes the session lease, which deletes every
   * leasing key of this client (writers waiting on them go on). Calls in flight fail with `ClosedError`.
   * Never rejects; safe to call twice.
   */
  close(): Promise<void> {
    this.#closing ??= (async () => {
      const session = this.#session;
      this.#end();
      await this.#following;
      // The same close #end started (a session closes once): the revoke is done when this resolves.
      await session?.close();
    })();
    return this.#closing;
  }

  /** Same as `close()`, for `await using`. */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  #end(): void {
    if (this.#stop.signal.aborted) return;
    const session = this.#session;
    this.#stop.abort(new ClosedError("the leasing KV was closed"));
    this.#keys.clear();
    this.#detach?.();
    this.#life.end();
    // Still waiting writers fail with the ClosedError through their signal.
    for (const resolve of this.#sessionWaiters) resolve();
    this.#sessionWaiters.clear();
    // Revokes the lease: every leasing key of this client goes with it.
    void session?.close();
  }

  #throwIfClosed(): void {
    if (this.#stop.signal.aborted) throw this.#stop.signal.reason;
  }

  #checkKey(key: Bytes): Uint8Array {
    const k = toBytes(key, "key");
    if (startsWith(k, this.prefix))
      throw new InvalidArgumentError("key", `${shownInput(key)} is under the leasing prefix`);
    return k;
  }

  #leasingKey(key: Uint8Array): Uint8Array {
    const out = new Uint8Array(this.prefix.length + key.length);
    out.set(this.prefix);
    out.set(key, this.prefix.length);
    return out;
  }

  // --- the session -----------------------------------------------------------------------------

  #useSession(session: Session): void {
    this.#session = session;
    for (const resolve of this.#sessionWaiters) resolve();
    this.#sessionWaiters.clear();
    session._onEnd(() => {
      if (this.#session !== session) return;
      // The lease is gone, and every leasing key with it: nothing is owned (Go's monitorSession).
      this.#session = undefined;
      this.#keys.clear();
      if (!this.#stop.signal.aborted) void this.#renewSession();
    });
  }

  /** Grants a new session after the last one was lost, with backoff while the grant fails. */
  async #renewSession(): Promise<void> {
    const backoff = recheckBackoff();
    const signal = this.#stop.signal;
    while (!signal.aborted) {
      try {
        const session = await Session.create(this.#etcd, { ttl: this.#ttl, signal });
        if (signal.aborted) {
          await session.close();
          return;
        }
        this.#useSession(session);
        return;
      } catch {
        await sleep(backoff.next(), signal);
      }
    }
  }

  /** The live session, waiting for a new one after a loss (Go's `waitSession`). */
  async #liveSession(signal: AbortSignal): Promise<Session> {
    while (!this.#session) {
      await untilAborted(new Promise<void>((resolve) => this.#sessionWaiters.add(resolve)), signal);
      if (signal.aborted) throw signal.reason;
    }
    return this.#session;
  }

  // --- reads -----------------------------------------------------------------------------------

  /** One txn: read the key and create its leasing key on our lease when nobody owns it (Go's `acquire`). */
  async #acquire(
    key: Uint8Array,
    bs: string,
    session: Session,
    options: LeasingGetOptions | undefined,
  ): Promise<KeyValue | undefined> {
    const lkey = this.#leasingKey(key);
    const callOptions = pickCallOptions(options);
    this.#keys.startAcquire(bs);
    let res: Awaited<ReturnType<typeof commitAcquire>>;
    try {
      res = await commitAcquire(this.#etcd, key, lkey, session.leaseId, callOptions);
    } catch (err) {
      this.#keys.finishAcquire(bs, false, undefined, 0n);
      // The session's lease is gone and its keepalive has not told yet: read as without a session.
      if (err instanceof LeaseNotFoundError) return this.#etcd.range(key, options).then((r) => r.kvs[0]);
      throw err;
    }
    const kv = res.results[0].kvs[0];
    const ownedAlready = !res.succeeded && res.results[1].kvs[0]?.lease === session.leaseId;
    const owned =
      this.#session === session && !this.#stop.signal.aborted
        ? this.#keys.finishAcquire(bs, res.succeeded || ownedAlready, kv, res.revision)
        : this.#keys.finishAcquire(bs, false, undefined, 0n);
    return owned ? view(owned.kv, options) : view(kv, options);
  }

  // --- writes ----------------------------------------------------------------------------------

  /**
   * Writes one key: guarded by "no leasing key newer than my ownership", else `REVOKE` on the owner's
   * leasing key and a wait for its deletion, then again (Go's `put`/`delete` with `revoke`).
   */
  async #write(
    key: Uint8Array,
    writeOp: ReturnType<typeof op.put> | ReturnType<typeof op.delete>,
    what: "put" | "delete",
    options: CallOptions | undefined,
    written: (owned: OwnedKey, revision: bigint) => boolean,
  ): Promise<PutResult | DeleteResult> {
    this.#throwIfClosed();
    const wait = this.#waitFor(`leasing ${what}`, options);
    const bs = toByteString(key);
    const lkey = this.#leasingKey(key);
    const callOptions = { signal: wait.signal, metadata: options?.metadata };
    try {
      await this.#liveSession(wait.signal);
      for (;;) {
        const owned = this.#keys.get(bs);
        const release = owned ? lockWrites(owned) : undefined;
        let res: Awaited<ReturnType<typeof commitGuardedWrite>>;
        try {
          res = await commitGuardedWrite(this.#etcd, lkey, owned?.revision ?? 0n, writeOp, callOptions);
        } catch (err) {
          // Whether the write happened is unknown: the copy can no longer be trusted.
          this.#keys.evict(bs);
          release?.();
          throw err;
        }
        if (res.succeeded) {
          const result = res.results[0] as PutResult | DeleteResult;
          if (owned && this.#keys.get(bs) === owned && !written(owned, res.revision)) this.#keys.evict(bs);
          release?.();
          return result;
        }
        release?.();
        await this.#waitRescind(bs, lkey, res.revision, wait.signal);
      }
    } catch (err) {
      return wait.rethrow(err);
    } finally {
      wait.dispose();
    }
  }

  /**
   * Deletes a range (Go's `deleteRange`): revokes every other client's leasing key in it, then deletes
   * guarded by "no leasing key in the range created after that read", and again when one was.
   */
  async #deleteRange(
    range: KeyRange,
    delOp: ReturnType<typeof op.delete>,
    options: (DeleteOptions & CallOptions) | undefined,
  ): Promise<DeleteResult> {
    const wait = this.#waitFor("leasing delete", options);
    const callOptions = { signal: wait.signal, metadata: options?.metadata };
    const lrange = this.#leasingRange(range);
    try {
      const session = await this.#liveSession(wait.signal);
      for (;;) {
        const maxRevision = await this.#revokeRange(lrange, session, wait.signal);
        const res = await this.#etcd
          .txn()
          .if(compare.createRevision(lrange, "<", maxRevision + 1n))
          .onSuccess(op.get(range, { keysOnly: true }), delOp)
          .commit(callOptions);
        if (!res.succeeded) continue;
        for (const kv of res.results[0].kvs) {
          const owned = this.#keys.get(toByteString(kv.key));
          if (owned) owned.kv = undefined;
        }
        return res.results[1];
      }
    } catch (err) {
      return wait.rethrow(err);
    } finally {
      wait.dispose();
    }
  }

  /**
   * The leasing txn protocol (Go's `serverTxn`): revoke other owners of the ranges written, guard every
   * key written by "its leasing key was created at or before this client's ownership (none: 0)", commit
   * the user's txn nested in those guards, else read the leasing keys of the single keys, revoke their
   * owners, and again. Owned copies of written keys are locked (reads wait) while the txn is in flight.
   */
  async #commitTxn(inner: Txn, direct: Txn, options: CallOptions | undefined): Promise<AnyTxnResult> {
    checkOptionsObject(options);
    const request = inner.toRequest();
    for (const key of txnOpKeys(request))
      if (startsWith(key, this.prefix))
        throw new InvalidArgumentError("txn", `an op's key ${shownInput(key)} is under the leasing prefix`);
    this.#throwIfClosed();
    const writes = txnWrites(request);
    // Nothing to guard: the txn as etcd.txn() sends it (not nested, so checked by every server's RBAC).
    if (writes.length === 0) {
      const wait = this.#waitFor("leasing txn", options);
      try {
        return (await direct.commit({ signal: wait.signal, metadata: options?.metadata })) as AnyTxnResult;
      } catch (err) {
        return wait.rethrow(err);
      } finally {
        wait.dispose();
      }
    }
    const singles = new Map<string, { key: Uint8Array; lkey: Uint8Array }>();
    for (const w of writes)
      if (w.end === undefined)
        singles.set(toByteString(w.key), { key: w.key, lkey: this.#leasingKey(w.key) });
    const ranges = writes
      .filter((w) => w.end !== undefined)
      .map((w) => ({
        from: toByteString(w.key),
        to: toByteString(w.end!),
        lrange: this.#leasingRange({ key: w.key, end: w.end }),
      }));
    const inRanges = (bs: string) => ranges.some((r) => inRange(bs, r.from, r.to));
    const wait = this.#waitFor("leasing txn", options);
    const callOptions = { signal: wait.signal, metadata: options?.metadata };
    try {
      for (;;) {
        const session = await this.#liveSession(wait.signal);
        const guards: Comparison[] = [];
        for (const r of ranges) {
          const maxRevision = await this.#revokeRange(r.lrange, session, wait.signal);
          guards.push(compare.createRevision(r.lrange, "<", maxRevision + 1n));
        }
        // The owned copies this txn may change, locked as put() locks one.
        const touched = new Map<string, OwnedKey>();
        for (const bs of this.#keys.keys())
          if (singles.has(bs) || inRanges(bs)) touched.set(bs, this.#keys.get(bs)!);
        const releases = [...touched.values()].map(lockWrites);
        const singleList = [...singles];
        for (const [bs, k] of singleList)
          guards.push(compare.createRevision(k.lkey, "<", (touched.get(bs)?.revision ?? 0n) + 1n));
        const release = () => {
          for (const r of releases) r();
        };
        let outer: Awaited<ReturnType<typeof commitNested>>;
        try {
          outer = await commitNested(this.#etcd, guards, inner, singleList, callOptions);
        } catch (err) {
          // Whether the txn happened is unknown: the copies it may have changed can no longer be trusted.
          for (const bs of touched.keys()) this.#keys.evict(bs);
          release();
          throw err;
        }
        if (outer.succeeded) {
          const result = outer.results[0] as AnyTxnResult;
          this.#txnWritten(request, result, outer.revision, touched);
          release();
          return result;
        }
        release();
        // A guard failed: a key written has an owner (new, or not this client). Revoke, then again.
        for (let i = 0; i < singleList.length; i++)
          if (outer.results[i]!.kvs.length > 0) {
            const [, k] = singleList[i]!;
            await this.#revoke(k.key, k.lkey, wait.signal);
          }
      }
    } catch (err) {
      return wait.rethrow(err);
    } finally {
      wait.dispose();
    }
  }

  /**
   * Updates the owned copies after a txn of this client committed at `revision` (Go's `commitToCache`):
   * a put updates the copy as `put()` does, a delete of a key or range empties the copies it covers.
   */
  #txnWritten(
    request: TxnRequestInit,
    result: AnyTxnResult,
    revision: bigint,
    touched: Map<string, OwnedKey>,
  ): void {
    for (const w of ranWrites(request, result)) {
      if (w.kind === "put" || w.end === undefined) {
        const bs = toByteString(w.key);
        const owned = this.#keys.get(bs);
        if (!owned) continue;
        if (touched.get(bs) !== owned) {
          // Owned since the txn was sent: a copy older than the txn is stale.
          if (owned.revision < revision) this.#keys.evict(bs);
          continue;
        }
        if (w.kind === "delete") owned.kv = undefined;
        else if (!updateOwnedCopy(owned, w.key, w.value, w, revision)) this.#keys.evict(bs);
        continue;
      }
      const from = toByteString(w.key);
      const to = toByteString(w.end);
      for (const bs of [...this.#keys.keys()])
        if (inRange(bs, from, to)) {
          const owned = this.#keys.get(bs)!;
          if (owned.revision < revision) owned.kv = undefined;
        }
    }
  }

  /**
   * Revokes every other client's leasing key in `lrange` and waits for them to be deleted (Go's
   * `revokeRange`); returns the highest create revision of a leasing key read there (0: none), which
   * the write's guard checks.
   */
  async #revokeRange(lrange: KeyRange, session: Session, signal: AbortSignal): Promise<bigint> {
    const leased = await this.#etcd.range(lrange, { signal });
    let maxRevision = 0n;
    for (const lkv of leased.kvs) {
      if (lkv.createRevision > maxRevision) maxRevision = lkv.createRevision;
      if (lkv.lease === session.leaseId) continue;
      await this.#revoke(lkv.key.subarray(this.prefix.length), lkv.key, signal);
    }
    return maxRevision;
  }

  /** Puts `REVOKE` on another client's leasing key and waits for its deletion (Go's `revoke` of a read op). */
  async #revoke(key: Uint8Array, lkey: Uint8Array, signal: AbortSignal): Promise<void> {
    const bs = toByteString(key);
    const res = await commitGuardedWrite(this.#etcd, lkey, this.#keys.get(bs)?.revision ?? 0n, op.get(key), {
      signal,
    });
    if (!res.succeeded) await this.#waitRescind(bs, lkey, res.revision, signal);
  }

  /** The leasing keys of `range`: the same bounds under the prefix. */
  #leasingRange(range: KeyRange): KeyRange {
    if ("prefix" in range) return { prefix: this.#leasingKey(toBytes(range.prefix, "prefix")) };
    if ("fromKey" in range)
      return { key: this.#leasingKey(toBytes(range.fromKey, "fromKey")), end: prefixEnd(this.prefix) };
    const key = toBytes(range.key, "key");
    if (range.end === undefined) return { key: this.#leasingKey(key) };
    const end = toBytes(range.end, "end");
    // Go maps an end of "\0" (every key from `key` on) to the end of the leasing prefix alike.
    if (end.length === 1 && end[0] === 0) return { key: this.#leasingKey(key), end: prefixEnd(this.prefix) };
    return { key: this.#leasingKey(key), end: this.#leasingKey(end) };
  }

  /**
   * Waits until the leasing key `lkey` is deleted after `revision` (the writer's `REVOKE`), seen by the
   * follower's watch, or by a read now (Go's `waitRescind`). The waiter is set before the read, so a
   * deletion the read misses is one the watch delivers after.
   */
  async #waitRescind(bs: string, lkey: Uint8Array, revision: bigint, signal: AbortSignal): Promise<void> {
    let waiters = this.#rescindWaiters.get(bs);
    if (!waiters) {
      waiters = new Set();
      this.#rescindWaiters.set(bs, waiters);
    }
    let resolve!: () => void;
    const deleted = new Promise<void>((r) => {
      resolve = r;
    });
    const waiter = { revision, resolve };
    waiters.add(waiter);
    try {
      const now = await this.#etcd.range(lkey, { signal });
      if (!gone(now.kvs[0], revision)) await untilAborted(deleted, signal);
    } finally {
      waiters.delete(waiter);
      if (waiters.size === 0 && this.#rescindWaiters.get(bs) === waiters) this.#rescindWaiters.delete(bs);
    }
  }

  /**
   * The signal of one write (or a read waiting for one): the caller's `signal`, its `timeoutMs` over the
   * whole call, or `close()`, whose reasons are an `AbortedError`, a `DeadlineExceededError` or the
   * `ClosedError`.
   */
  #waitFor(what: string, options: CallOptions | undefined): WaitSignal {
    checkSignal(options?.signal);
    const either = anySignal([options?.signal, this.#stop.signal]);
    const wait = waitSignal(
      {
        aborted: (reason) =>
          this.#stop.signal.aborted
            ? (this.#stop.signal.reason as Error)
            : new AbortedError(`${what} aborted`, { code: Code.Canceled, cause: reason }),
        timedOut: () =>
          new DeadlineExceededError(`${what} timed out after ${options?.timeoutMs} ms`, {
            code: Code.DeadlineExceeded,
          }),
      },
      either.signal,
      options?.timeoutMs,
    );
    return {
      signal: wait.signal,
      rethrow: (err: unknown): never => wait.rethrow(err),
      dispose: () => {
        wait.dispose();
        either.dispose();
      },
    };
  }

  // --- the follower ----------------------------------------------------------------------------

  /**
   * The one follower of the leasing prefix: read it, watch it from the next revision, and again after a
   * break. What it looks for: `REVOKE` on a leasing key of ours (give the key up), the deletion of a
   * leasing key of ours (its ownership is over), the deletion of a key a writer waits for.
   */
  #follow(): Promise<unknown> {
    const range = { prefix: this.prefix };
    return follow<undefined>(
      {
        read: async (signal) => {
          const res = await this.#etcd.range(range, { signal });
          this.#checkRead(res.kvs, res.revision);
          return readAt(res.revision);
        },
        watch: (from, signal) => this.#watchFrom(range, from, signal),
        failed: (err) => isRetryable(err),
      },
      { signal: this.#stop.signal },
    )
      .catch(() => undefined)
      .then(() => {
        // The follower stopped by itself (the client closed): owned copies could go stale unseen.
        if (!this.#stop.signal.aborted) void this.close();
      });
  }

  async #watchFrom(
    range: { prefix: Uint8Array },
    from: bigint,
    signal: AbortSignal,
  ): Promise<FollowBroken | FollowDone<undefined>> {
    try {
      const watcher = this.#etcd.watch(range, { startRevision: from, signal });
      try {
        for await (const batch of watcher) for (const event of batch.events) this.#onEvent(event);
      } finally {
        void watcher.close();
      }
    } catch (err) {
      return broken(err);
    }
    return done(undefined);
  }

  /** A read of the leasing prefix at `revision`: check what we own and what writers wait for. */
  #checkRead(kvs: KeyValue[], revision: bigint): void {
    const byKey = new Map<string, KeyValue>();
    for (const kv of kvs) byKey.set(toByteString(kv.key.subarray(this.prefix.length)), kv);
    const leaseId = this.#session?.leaseId;
    for (const bs of this.#keys.keys()) {
      const lkv = byKey.get(bs);
      if (this.#keys.get(bs)!.revision > revision) continue; // acquired after this read
      // Our leasing key is gone (or another's): the key is no longer ours. Or a writer asks for it.
      if (!lkv || lkv.lease !== leaseId || lkv.text() === REVOKE_MARKER) void this.#rescind(bs, revision);
    }
    // An acquisition in flight whose leasing key this read already shows with a revoke on it: its
    // REVOKE event is before the watch's start. One the read does not show is after it: the watch sees it.
    for (const bs of this.#keys.acquiringKeys()) {
      const lkv = byKey.get(bs);
      if (lkv && lkv.lease === leaseId && lkv.text() === REVOKE_MARKER)
        void this.#rescind(bs, lkv.modRevision);
    }
    for (const [bs, waiters] of this.#rescindWaiters)
      for (const w of waiters) if (gone(byKey.get(bs), w.revision)) w.resolve();
  }

  #onEvent(event: WatchEvent): void {
    const bs = toByteString(event.kv.key.subarray(this.prefix.length));
    if (event.type === "delete") {
      const waiters = this.#rescindWaiters.get(bs);
      if (waiters) for (const w of waiters) if (event.kv.modRevision > w.revision) w.resolve();
      const owned = this.#keys.get(bs);
      // Our leasing key went (lease expired, or deleted by hand): the key is no longer ours.
      if (owned && event.kv.modRevision > owned.revision) this.#keys.evict(bs, false);
      return;
    }
    if (event.kv.text() !== REVOKE_MARKER) return;
    if (this.#session && event.kv.lease === this.#session.leaseId)
      void this.#rescind(bs, event.kv.modRevision);
  }

  /**
   * Gives up `key` after a revoke seen at `revision` (Go's `rescind`): drops the copy, then deletes the
   * leasing key if it was created before the revoke (a newer one is a newer ownership), retrying with
   * backoff until it is done or this closes.
   */
  async #rescind(bs: string, revision: bigint): Promise<void> {
    if (this.#keys.evict(bs) > revision) return;
    const lkey = this.#leasingKey(fromByteString(bs));
    const backoff = recheckBackoff();
    const signal = this.#stop.signal;
    while (!signal.aborted) {
      try {
        await this.#etcd
          .txn()
          .if(compare.createRevision(lkey, "<", revision))
          .onSuccess(op.delete(lkey))
          .commit({ signal });
        return;
      } catch (err) {
        if (!isRetryable(err)) return;
        await sleep(backoff.next(), signal);
      }
    }
  }
}

/** The acquiring txn (Go's `acquire`): read the key; create its leasing key when nobody has one and the key has no lease. */
function commitAcquire(
  etcd: EtcdPort,
  key: Uint8Array,
  lkey: Uint8Array,
  leaseId: bigint,
  callOptions: CallOptions,
) {
  return etcd
    .txn()
    .if(compare.createRevision(lkey, "=", 0), compare.lease(key, "=", 0))
    .onSuccess(op.get(key), op.put(lkey, "", { lease: leaseId }))
    .onFailure(op.get(key), op.get(lkey))
    .commit(callOptions);
}

/**
 * The user's txn nested in `guards` on the leasing keys of the keys it writes (Go's `serverTxn`), else
 * a read of the leasing keys of the single keys (to revoke their owners).
 */
function commitNested(
  etcd: EtcdPort,
  guards: Comparison[],
  inner: Txn,
  singles: [string, { lkey: Uint8Array }][],
  callOptions: CallOptions,
) {
  return etcd
    .txn()
    .if(...guards)
    .onSuccess(op.txn(inner))
    .onFailure(...singles.map(([, k]) => op.get(k.lkey)))
    .commit(callOptions);
}

/**
 * A write guarded by "the leasing key was created at or before `ownedFrom`" (0: there is none), else
 * `REVOKE` on it (Go's `revoke`; `ignoreLease` keeps the owner's lease on it).
 */
function commitGuardedWrite(
  etcd: EtcdPort,
  lkey: Uint8Array,
  ownedFrom: bigint,
  writeOp: ReturnType<typeof op.put> | ReturnType<typeof op.delete> | ReturnType<typeof op.get>,
  callOptions: CallOptions,
) {
  return etcd
    .txn()
    .if(compare.createRevision(lkey, "<", ownedFrom + 1n))
    .onSuccess(writeOp)
    .onFailure(op.put(lkey, REVOKE_MARKER, { ignoreLease: true }))
    .commit(callOptions);
}

/** Marks a write of this client to an owned key in flight; returns its end. */
function lockWrites(owned: OwnedKey): () => void {
  let release!: () => void;
  const writing = new Promise<void>((resolve) => {
    release = resolve;
  });
  owned.writing = writing;
  return () => {
    if (owned.writing === writing) owned.writing = undefined;
    release();
  };
}

/**
 * The owned copy after a put of this client at `revision` (Go's `Update`); false when the put's options
 * make the new value unknown here (`ignoreValue`, `ignoreLease`) or attach a lease (a lease's expiry
 * deletes the key without the protocol): the caller drops the key then.
 */
function updateOwnedCopy(
  owned: OwnedKey,
  key: Uint8Array,
  value: Uint8Array,
  options: PutOptions | undefined,
  revision: bigint,
): boolean {
  if (
    options?.ignoreValue ||
    options?.ignoreLease ||
    (options?.lease !== undefined && BigInt(options.lease) !== 0n)
  )
    return false;
  const prev = owned.kv;
  owned.kv = new KeyValue(
    create(KeyValueSchema, {
      key,
      value,
      createRevision: prev?.createRevision ?? revision,
      modRevision: revision,
      version: (prev?.version ?? 0n) + 1n,
      lease: 0n,
    }),
  );
  return true;
}

/** The key-value as a read with `options` gets it (keys only: without the value). */
function view(kv: KeyValue | undefined, options: LeasingGetOptions | undefined): KeyValue | undefined {
  if (!kv || !options?.keysOnly) return kv;
  return new KeyValue(
    create(KeyValueSchema, {
      key: kv.key,
      createRevision: kv.createRevision,
      modRevision: kv.modRevision,
      version: kv.version,
      lease: kv.lease,
    }),
  );
}

/** True when a `get()` with `options` can be answered from an owned copy. */
function isLocal(options: LeasingGetOptions | undefined): boolean {
  if (!options) return true;
  for (const [name, value] of Object.entries(options))
    if (value !== undefined && !LOCAL_GET_OPTIONS.has(name)) {
      if (name === "revision" && (value === 0 || value === 0n)) continue;
      return false;
    }
  return true;
}

function pickCallOptions(options: CallOptions | undefined): CallOptions {
  return { signal: options?.signal, timeoutMs: options?.timeoutMs, metadata: options?.metadata };
}

/** True when the leasing key read as `lkv` is not the one a writer's revoke at `revision` was put on. */
function gone(lkv: KeyValue | undefined, revision: bigint): boolean {
  return lkv === undefined || lkv.createRevision > revision;
}

/** True when the byte string `key` is in [`from`, `to`) (`to` of "\0": every key from `from` on). */
function inRange(key: string, from: string, to: string): boolean {
  return key >= from && (to === "\0" || key < to);
}

function startsWith(bytes: Uint8Array, prefix: Uint8Array): boolean {
  if (bytes.length < prefix.length) return false;
  for (let i = 0; i < prefix.length; i++) if (bytes[i] !== prefix[i]) return false;
  return true;
}

/** The end of the range of keys under `prefix`. */
function prefixEnd(prefix: Uint8Array): Uint8Array {
  const end = prefix.slice();
  for (let i = end.length - 1; i >= 0; i--) {
    if (end[i]! < 0xff) {
      end[i]!++;
      return end.subarray(0, i + 1);
    }
  }
  return new Uint8Array([0]);
}
