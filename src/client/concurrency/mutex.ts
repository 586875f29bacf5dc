import { LeaseNotFoundError } from "../core/errors.js";
import { type WaitSignal, waitSignal } from "../core/signals.js";
import { checkInstance, checkOptionsObject } from "../core/validation.js";
import type { KeyValue } from "../kv/key-value.js";
import { type Comparison, compare } from "../txn/compare.js";
import { op } from "../txn/ops.js";
import { SessionExpiredError } from "./errors.js";
import { Holder } from "./holder.js";
import { recipePrefix, sessionKey } from "./key.js";
import { Session } from "./session.js";

/** Where a {@link Mutex} is. */
export type MutexState = "unlocked" | "locking" | "locked" | "lost";

/** Options of {@link Mutex.lock}. */
export interface LockOptions {
  /** Aborts the wait (the waiter's key is deleted); the lock fails with `AbortedError`. */
  signal?: AbortSignal | undefined;
  /** Gives up after this many ms (the waiter's key is deleted) with `DeadlineExceededError`. Default: wait forever. */
  timeoutMs?: number | undefined;
}

/**
 * A distributed lock (Go's `concurrency.Mutex`, same keys, so Go programs and etcd-ts contend for the same
 * lock). Each waiter puts `<prefix>/<lease hex>` (empty value) under its session's lease; the waiter with
 * the smallest create revision holds the lock, the others wait for every older key to be deleted.
 *
 * An etcd lock is a lease: a holder that pauses longer than the TTL loses it without knowing. Watch
 * the hold's `closed` (or pass its `signal` to the guarded work), and fence writes with `isOwner()` in
 * their txn, or with `revision` as a fencing token.
 *
 * Lifecycle (docs/client.md): `state` is `unlocked → locking → locked`, and `lost` when a held lock
 * ends by itself (until `unlock()`); `closed`, `signal` and the `close` event describe the current
 * hold; `close()` (and `await using`) unlocks and never rejects.
 */
export class Mutex extends Holder<MutexState> implements AsyncDisposable {
  /** The session whose lease the lock key is attached to. */
  readonly session: Session;
  readonly #pfx: string;
  #key = "";
  #revision = -1n;
  #headerRevision = -1n;

  /** A mutex on `prefix` (keys live under `prefix + "/"`). */
  constructor(session: Session, prefix: string) {
    super("lock", { idle: "unlocked", waiting: "locking", held: "locked", lost: "lost" });
    this.session = checkInstance(session, Session, "session", "a Session (await Session.create(etcd))");
    this.#pfx = recipePrefix(prefix);
  }

  /** The lock key (`<prefix>/<lease hex>`) while locking or held; `""` otherwise. */
  get key(): string {
    return this.#key;
  }

  /** Create revision of the lock key while held (a fencing token that only grows); `-1n` otherwise. */
  get revision(): bigint {
    return this.#revision;
  }

  /** Store revision at which the lock was acquired; `-1n` when not held. */
  get headerRevision(): bigint {
    return this.#headerRevision;
  }

  /** True between a successful `lock()`/`tryLock()` and `unlock()` (even if the lock was since lost: state `lost`). */
  get held(): boolean {
    return this._hold !== undefined;
  }

  /** A txn guard that holds only while this mutex owns the lock (Go's `IsOwner()`); never holds when not locked. */
  isOwner(): Comparison {
    // Go compares with revision -1 when not locked; etcd-ts refuses negative operands, so use a guard that never holds.
    if (!this.#key || this.#revision < 0n) return compare.version("\0", "<", 0);
    return compare.createRevision(this.#key, "=", this.#revision);
  }

  /**
   * Waits until the lock is ours. On abort, timeout or any error the waiter's key is deleted and the
   * error thrown: `AbortedError`, `DeadlineExceededError`, `SessionExpiredError` (the lease went while
   * waiting), or the call's own error.
   */
  async lock(options: LockOptions = {}): Promise<void> {
    checkOptionsObject(options);
    const wait = waitSignal("mutex lock", options.signal, options.timeoutMs);
    this._waiting();
    try {
      const acquired = await this.#tryAcquire(wait.signal).catch((e: unknown) => this.#failAcquire(e, wait));
      if (acquired.owned) return this.#hold(acquired.revision);
      try {
        this.#hold(await this._waitTurn(this.session, this.#pfx, this.#key, this.#revision, wait.signal));
      } catch (err) {
        await this.#abandon();
        wait.rethrow(err);
      }
    } finally {
      wait.dispose();
    }
  }

  /**
   * Takes the lock only if it is free (Go 3.5's `TryLock`): resolves `true` when it is now ours, `false`
   * when another session holds it (its waiter key is deleted at once).
   */
  async tryLock(options: { signal?: AbortSignal | undefined } = {}): Promise<boolean> {
    checkOptionsObject(options);
    const wait = waitSignal("mutex tryLock", options.signal);
    this._waiting();
    try {
      const acquired = await this.#tryAcquire(wait.signal).catch((e: unknown) => this.#failAcquire(e, wait));
      if (acquired.owned) {
        this.#hold(acquired.revision);
        return true;
      }
      await this.#abandon();
      return false;
    } finally {
      wait.dispose();
    }
  }

  /** Releases the lock by deleting its key (Go's `Unlock`); rejects if the delete fails (the hold has ended anyway). */
  async unlock(
    options: { signal?: AbortSignal | undefined; timeoutMs?: number | undefined } = {},
  ): Promise<void> {
    this._released();
    if (this.#key) await this.session.etcd.delete(this.#key, options);
    this.#reset();
  }

  /**
   * Unlocks if locked; never rejects: a key whose delete fails is left to the session's lease (it goes
   * when the session ends or expires).
   */
  async close(): Promise<void> {
    await this.unlock().catch(() => {});
  }

  /** Same as `close()`, for `await using`. */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  /** Puts our key (or finds it) and reads the owner, in one txn, as Go's `tryAcquire`. */
  async #tryAcquire(signal: AbortSignal): Promise<{ owned: boolean; revision: bigint }> {
    const key = sessionKey(this.#pfx.slice(0, -1), this.session.leaseId);
    this.#key = key;
    const getOwner = op.get({ prefix: this.#pfx }, { sort: { target: "create", order: "ascend" }, limit: 1 });
    const res = await this.session.etcd
      .txn()
      .if(compare.createRevision(key, "=", 0))
      .onSuccess(op.put(key, "", { lease: this.session.leaseId }), getOwner)
      .onFailure(op.get(key), getOwner)
      .commit({ signal })
      .catch((err: unknown) => {
        // The put names a lease that is gone: the session is over, whatever the keepalive knows yet.
        if (err instanceof LeaseNotFoundError)
          throw new SessionExpiredError(this.session.leaseId, { cause: err });
        throw err;
      });
    const mineRevision = res.succeeded ? res.revision : (res.results[0].kvs[0] as KeyValue).createRevision; // the compare failed: the key exists
    this.#revision = mineRevision;
    const owner = res.results[1].kvs[0];
    return { owned: !owner || owner.createRevision === mineRevision, revision: res.revision };
  }

  /**
   * The acquiring txn failed: it may still have put our key (a timeout does not say), and a key left
   * behind would block every other waiter until the session ends, so delete it unless we already held it.
   */
  async #failAcquire(err: unknown, wait: WaitSignal): Promise<never> {
    if (!this._hold) await this.#abandon();
    return wait.rethrow(err);
  }

  #hold(revision: bigint): void {
    this.#headerRevision = revision;
    this._held(this.session, this.#key, this.#revision, revision + 1n);
  }

  /** Deletes our waiter key after a failed or given-up attempt (Go deletes it with the client's context). */
  async #abandon(): Promise<void> {
    const key = this.#key;
    this.#reset();
    this._released();
    if (key) await this.session.etcd.delete(key).catch(() => {});
  }

  #reset(): void {
    this.#key = "";
    this.#revision = -1n;
    this.#headerRevision = -1n;
  }
}
