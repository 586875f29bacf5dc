import type { KeyValue } from "../kv/key-value.js";

/**
 * How long after losing ownership of a key a read leaves it to the server instead of acquiring it again
 * (Go's `revokeBackoff`, 2 s): a key written by others often is not worth owning.
 */
export const REACQUIRE_AFTER_MS = 2000;

/** One key this client owns (Go's `leaseKey`): its value as of the last read or write of this client. */
export interface OwnedKey {
  /** The key-value, or undefined when the key does not exist. */
  kv: KeyValue | undefined;
  /**
   * The revision ownership was acquired at (the acquiring txn's header revision, Go's `leaseKey.rev`):
   * the leasing key was created at or before it, which the guard of every write of this client checks.
   */
  readonly revision: bigint;
  /** A write of this client to the key is in flight: reads wait for it (Go's `waitc`). */
  writing: Promise<void> | undefined;
}

/**
 * The keys a leasing KV owns, the acquisitions in flight, and when ownership of a key was last lost
 * (Go's `leaseCache`). Keys are byte strings (`toByteString`). Pure state: the protocol is in
 * `LeasingKv`.
 */
export class OwnedKeys {
  readonly #owned = new Map<string, OwnedKey>();
  /** Keys whose acquiring txn is in flight, and whether a revoke of them was seen meanwhile. */
  readonly #acquiring = new Map<string, { revoked: boolean; count: number }>();
  /** When ownership of a key was lost (`performance.now()`); entries older than the backoff are dropped. */
  readonly #lost = new Map<string, number>();
  readonly #now: () => number;

  /** `now` is the clock of the re-acquire backoff (default `performance.now`). */
  constructor(now: () => number = () => performance.now()) {
    this.#now = now;
  }

  /** Number of keys owned. */
  get size(): number {
    return this.#owned.size;
  }

  /** The owned key, if this client owns it. */
  get(key: string): OwnedKey | undefined {
    return this.#owned.get(key);
  }

  /** The owned keys (for a read of the leasing prefix to check them). */
  keys(): IterableIterator<string> {
    return this.#owned.keys();
  }

  /** Keys being acquired (for a read of the leasing prefix to check them too). */
  acquiringKeys(): IterableIterator<string> {
    return this.#acquiring.keys();
  }

  /** False while ownership of `key` was lost less than {@link REACQUIRE_AFTER_MS} ago (Go's `MayAcquire`). */
  mayAcquire(key: string): boolean {
    const lostAt = this.#lost.get(key);
    if (lostAt === undefined) return true;
    if (this.#now() - lostAt > REACQUIRE_AFTER_MS) {
      this.#lost.delete(key);
      return true;
    }
    return false;
  }

  /** An acquiring txn for `key` is about to be sent; {@link finishAcquire} must follow. */
  startAcquire(key: string): void {
    const a = this.#acquiring.get(key);
    if (a) a.count++;
    else this.#acquiring.set(key, { revoked: false, count: 1 });
  }

  /**
   * The acquiring txn of `key` answered: records the ownership when it `succeeded` and no revoke of the
   * key was seen while it was in flight; returns the owned key, or undefined.
   */
  finishAcquire(
    key: string,
    succeeded: boolean,
    kv: KeyValue | undefined,
    revision: bigint,
  ): OwnedKey | undefined {
    const a = this.#acquiring.get(key);
    const revoked = a?.revoked ?? false;
    if (a && --a.count === 0) this.#acquiring.delete(key);
    if (!succeeded || revoked) return undefined;
    const current = this.#owned.get(key);
    if (current && current.revision >= revision) return current;
    const owned: OwnedKey = { kv, revision, writing: current?.writing };
    this.#owned.set(key, owned);
    return owned;
  }

  /**
   * Drops ownership of `key` (Go's `Evict`), and of a key being acquired (its txn will not record it);
   * returns the revision it was owned from, 0 when it was not owned. With `backoff` (default), reads
   * leave the key to the server for {@link REACQUIRE_AFTER_MS} (it was taken away by a writer).
   */
  evict(key: string, backoff = true): bigint {
    const a = this.#acquiring.get(key);
    if (a) a.revoked = true;
    const owned = this.#owned.get(key);
    if (!owned) return 0n;
    this.#owned.delete(key);
    if (backoff) {
      this.#lost.set(key, this.#now());
      if (this.#lost.size > 1024) this.pruneLost();
    }
    return owned.revision;
  }

  /** Drops every ownership (the session is over: its leasing keys are gone with its lease). */
  clear(): void {
    for (const a of this.#acquiring.values()) a.revoked = true;
    this.#owned.clear();
  }

  /** Forgets the re-acquire backoffs that are over (so the map does not grow). */
  pruneLost(): void {
    const now = this.#now();
    for (const [key, at] of this.#lost) if (now - at > REACQUIRE_AFTER_MS) this.#lost.delete(key);
  }
}
