import { InvalidUsageError } from "../../core/errors.js";
import { checkInstance } from "../../core/validation.js";
import { Holder } from "../holder.js";
import { recipePrefix } from "../key.js";
import { Session } from "../session.js";
import { deleteOwnKey, putSessionKey } from "./new-key.js";
import { type RecipeWaitOptions, RecipeWaits } from "./waits.js";

/** Where an {@link RWMutex} is (its `mode` says read or write). */
export type RWMutexState = "unlocked" | "locking" | "locked" | "lost";

/**
 * A readers-writer lock (Go's `recipe.RWMutex`, same keys, so Go programs and etcd-ts share it): a reader
 * puts `<prefix>/read/<unix nanos>`, a writer `<prefix>/write/<unix nanos>`, under the session's lease.
 * A reader holds once no writer key older than its own is left (readers share); a writer once no key at
 * all older than its own is left. Waiting writers are not starved: a reader that comes after a waiting
 * writer waits for it.
 *
 * Like a {@link Mutex} it is a lease (see docs/concurrency.md): `state` (`unlocked → locking → locked`,
 * `lost` when a hold ends by itself), and `closed`, `signal` and the `close` event describe the current
 * hold. `close()` (and `await using`) ends the calls in flight with a `ClosedError`, unlocks, refuses new
 * calls, and never rejects.
 */
export class RWMutex extends Holder<RWMutexState> implements AsyncDisposable {
  /** The session whose lease the lock keys are attached to. */
  readonly session: Session;
  readonly #pfx: string;
  readonly #waits: RecipeWaits;
  #key = "";
  #mode: "read" | "write" | undefined;
  #revision = -1n;
  #headerRevision = -1n;

  /** A readers-writer lock on `prefix` (a non-empty string; keys live under `prefix + "/"`). */
  constructor(session: Session, prefix: string) {
    super("rwmutex", { idle: "unlocked", waiting: "locking", held: "locked", lost: "lost" });
    this.session = checkInstance(session, Session, "session", "a Session (await Session.create(etcd))");
    this.#pfx = recipePrefix(prefix);
    this.#waits = new RecipeWaits(`rwmutex ${prefix}`);
  }

  /** This holder's key while locking or held; `""` otherwise. */
  get key(): string {
    return this.#key;
  }

  /** `read` or `write` while locking or held; `undefined` otherwise. */
  get mode(): "read" | "write" | undefined {
    return this.#mode;
  }

  /** Create revision of our key while held (a fencing token); `-1n` otherwise. */
  get revision(): bigint {
    return this.#revision;
  }

  /** Store revision at which the lock was acquired; `-1n` when not held. */
  get headerRevision(): bigint {
    return this.#headerRevision;
  }

  /** True between a successful `rLock()`/`lock()` and the unlock (even if since lost: state `lost`). */
  get held(): boolean {
    return this._hold !== undefined;
  }

  /**
   * Waits until held for reading (Go's `RLock`): every writer key older than ours is gone. On abort,
   * timeout, close or any error our key is deleted and the error thrown (`AbortedError`,
   * `DeadlineExceededError`, `ClosedError`, `SessionExpiredError`, or the call's own).
   */
  rLock(options: RecipeWaitOptions = {}): Promise<void> {
    return this.#acquire("read", options);
  }

  /** Waits until held for writing (Go's `Lock`): every key older than ours, reader or writer, is gone. As `rLock` otherwise. */
  lock(options: RecipeWaitOptions = {}): Promise<void> {
    return this.#acquire("write", options);
  }

  /** Releases a read hold (Go's `RUnlock`): deletes our key. Same as `unlock()`. */
  rUnlock(options: RecipeWaitOptions = {}): Promise<void> {
    return this.unlock(options);
  }

  /** Releases the hold, read or write (Go's `Unlock`): deletes our key; rejects if the delete fails (the hold has ended anyway). */
  async unlock(options: RecipeWaitOptions = {}): Promise<void> {
    const key = this.#key;
    this.#reset();
    this._released();
    if (key) await this.session.etcd.delete(key, options);
  }

  /** Ends the calls in flight (`ClosedError`), unlocks, and refuses new calls. Never rejects. */
  async close(): Promise<void> {
    this.#waits.close();
    await this.unlock().catch(() => {});
  }

  /** Same as `close()`, for `await using`. */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  async #acquire(mode: "read" | "write", options: RecipeWaitOptions): Promise<void> {
    const busy = this.#key !== "";
    const body = async (signal: AbortSignal): Promise<void> => {
      if (busy) throw new InvalidUsageError(`rwmutex ${this.#pfx}: locked or locking already; unlock first`);
      this._waiting();
      this.#mode = mode;
      const mine = await putSessionKey(this.session, `${this.#pfx}${mode}`, signal, (key) => {
        this.#key = key;
      });
      this.#key = mine.key;
      this.#revision = mine.revision;
      // A reader waits for older writers only; a writer for every older key (Go's waitOnLastRev).
      const blockers = mode === "read" ? `${this.#pfx}write/` : this.#pfx;
      const revision = await this._waitTurn(this.session, blockers, mine.key, mine.revision, signal);
      this.#headerRevision = revision;
      this._held(this.session, mine.key, mine.revision, revision + 1n);
    };
    const cleanUp = async (): Promise<void> => {
      const key = this.#key;
      this.#reset();
      this._released();
      // The put may have gone through even if its answer did not come: delete our key by its lease.
      if (key) await deleteOwnKey(this.session.etcd, key, this.session.leaseId);
    };
    // Held or locking already: nothing of this call's to clean up (the hold is the caller's).
    await this.#waits.run(mode === "read" ? "rLock" : "lock", options, body, busy ? undefined : cleanUp);
  }

  #reset(): void {
    this.#key = "";
    this.#mode = undefined;
    this.#revision = -1n;
    this.#headerRevision = -1n;
  }
}
