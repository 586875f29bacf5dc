import type { CallOptions } from "../call-options.js";
import { waitSignal } from "../core/signals.js";
import { checkInstance, checkOptionsObject } from "../core/validation.js";
import type { KeyValue } from "../kv/key-value.js";
import { compare } from "../txn/compare.js";
import { op } from "../txn/ops.js";
import { ElectionNotLeaderError } from "./errors.js";
import { Holder } from "./holder.js";
import { recipePrefix, sessionKey } from "./key.js";
import type { LockOptions } from "./mutex.js";
import { Session } from "./session.js";

/** Where an {@link Election} candidate is. */
export type ElectionState = "idle" | "campaigning" | "leader" | "lost";

/**
 * Leader election (Go's `concurrency.Election`, same keys): each candidate puts `<prefix>/<lease hex>`
 * with its value under its session's lease; the key with the smallest create revision is the leader.
 * Like a lock, leadership is a lease: watch the leadership's `closed` (or pass its `signal` to the
 * leader's work) and guard writes with `isLeader()`.
 *
 * Lifecycle (docs/client.md): `state` is `idle → campaigning → leader`, and `lost` when leadership ends
 * by itself (until `resign()`); `closed`, `signal` and the `close` event describe the current
 * leadership; `close()` (and `await using`) resigns and never rejects.
 */
export class Election extends Holder<ElectionState> implements AsyncDisposable {
  /** The session whose lease the candidate key is attached to. */
  readonly session: Session;
  readonly #pfx: string;
  #key = "";
  #revision = -1n;

  /** An election on `prefix` (keys live under `prefix + "/"`). */
  constructor(session: Session, prefix: string) {
    super("leadership", { idle: "idle", waiting: "campaigning", held: "leader", lost: "lost" });
    this.session = checkInstance(session, Session, "session", "a Session (await Session.create(etcd))");
    this.#pfx = recipePrefix(prefix);
  }

  /** Our candidate key while campaigning or leading; `""` otherwise. */
  get key(): string {
    return this.#key;
  }

  /** Create revision of our key while leading (a fencing token); `-1n` otherwise. */
  get revision(): bigint {
    return this.#revision;
  }

  /** True between a successful `campaign()` and `resign()` (even if since lost: state `lost`). */
  get leading(): boolean {
    return this._hold !== undefined;
  }

  /** A txn guard that holds only while we lead with this key; never holds when not leading. */
  isLeader(): ReturnType<typeof compare.createRevision> {
    if (!this.#key || this.#revision < 0n) return compare.version("\0", "<", 0);
    return compare.createRevision(this.#key, "=", this.#revision);
  }

  /**
   * Becomes a candidate with `value` and resolves once elected: every older candidate key is gone and
   * ours is still there. On abort, timeout or error our key is deleted (Go keeps it on errors other
   * than a cancelled context; deleting it means no stale candidate can later lead unseen).
   */
  async campaign(value: string | Uint8Array, options: LockOptions = {}): Promise<void> {
    checkOptionsObject(options);
    const wait = waitSignal("election campaign", options.signal, options.timeoutMs);
    const etcd = this.session.etcd;
    const key = sessionKey(this.#pfx.slice(0, -1), this.session.leaseId);
    this._waiting();
    try {
      const res = await etcd
        .txn()
        .if(compare.createRevision(key, "=", 0))
        .onSuccess(op.put(key, value, { lease: this.session.leaseId }))
        .onFailure(op.get(key))
        .commit({ signal: wait.signal })
        .catch((e: unknown) => {
          if (!this._hold) this._released();
          return wait.rethrow(e);
        });
      this.#key = key;
      this.#revision = res.revision;
      try {
        if (!res.succeeded) {
          const kv = res.results[0].kvs[0] as KeyValue;
          this.#revision = kv.createRevision;
          if (!sameBytes(kv.value, value)) await this.#put(value, wait.signal);
        }
        const revision = await this._waitTurn(this.session, this.#pfx, key, this.#revision, wait.signal);
        this._held(this.session, key, this.#revision, revision + 1n);
      } catch (err) {
        await this.resign().catch(() => {});
        wait.rethrow(err);
      }
    } finally {
      wait.dispose();
    }
  }

  /** Changes the leader's value without a new election; `ElectionNotLeaderError` if our key is no longer the one we won with. */
  async proclaim(value: string | Uint8Array, options: CallOptions = {}): Promise<void> {
    checkOptionsObject(options);
    if (!this._hold) throw new ElectionNotLeaderError();
    await this.#put(value, options.signal, options.timeoutMs);
  }

  /** Gives up leadership (or candidacy): deletes our key if it is still the one we won with. */
  async resign(options: CallOptions = {}): Promise<void> {
    checkOptionsObject(options);
    this._released();
    const key = this.#key;
    const revision = this.#revision;
    this.#key = "";
    this.#revision = -1n;
    if (!key) return;
    await this.session.etcd
      .txn()
      .if(compare.createRevision(key, "=", revision))
      .onSuccess(op.delete(key))
      .commit(options);
  }

  /** Resigns if leading or campaigning; never rejects (a key whose delete fails goes with the session's lease). */
  async close(): Promise<void> {
    await this.resign().catch(() => {});
  }

  /** Same as `close()`, for `await using`. */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  /** The current leader's key-value (first key by create revision), or `undefined` when nobody leads. */
  async leader(options: CallOptions = {}): Promise<KeyValue | undefined> {
    checkOptionsObject(options);
    const res = await this.session.etcd.range(
      { prefix: this.#pfx },
      { sort: { target: "create", order: "ascend" }, limit: 1, ...options },
    );
    return res.kvs[0];
  }

  /**
   * The leader's key-value now and at every change (a new leader, or a proclaim), as Go's `Observe`.
   * Ends when `signal` aborts or the loop breaks; a failed read or watch ends it with that error.
   */
  async *observe(
    options: { signal?: AbortSignal | undefined } = {},
  ): AsyncGenerator<KeyValue, void, undefined> {
    checkOptionsObject(options);
    const etcd = this.session.etcd;
    const signal = options.signal;
    for (;;) {
      if (signal?.aborted) return;
      const res = await etcd.range(
        { prefix: this.#pfx },
        { sort: { target: "create", order: "ascend" }, limit: 1, signal },
      );
      let leader = res.kvs[0];
      let revision = res.revision;
      if (!leader) {
        // Nobody leads: wait for the first put under the prefix (a delete would make us spin).
        const watcher = etcd.watch({ prefix: this.#pfx }, { startRevision: res.revision, signal });
        try {
          for await (const batch of watcher) {
            const put = batch.events.find((e) => e.type === "put");
            if (put) {
              leader = put.kv;
              revision = leader.modRevision;
              break;
            }
          }
        } finally {
          void watcher.close();
        }
        if (!leader) return; // aborted
      }
      yield leader;
      const watcher = etcd.watch(leader.keyText(), { startRevision: revision + 1n, signal });
      try {
        let deleted = false;
        for await (const batch of watcher) {
          for (const e of batch.events) {
            if (e.type === "delete") {
              deleted = true;
              break;
            }
            yield e.kv;
          }
          if (deleted) break;
        }
        if (!deleted) return; // aborted
      } finally {
        void watcher.close();
      }
    }
  }

  /** Puts `value` on our key if it is still the one created at `revision`; else we no longer lead. */
  async #put(value: string | Uint8Array, signal?: AbortSignal, timeoutMs?: number): Promise<void> {
    const res = await this.session.etcd
      .txn()
      .if(compare.createRevision(this.#key, "=", this.#revision))
      .onSuccess(op.put(this.#key, value, { lease: this.session.leaseId }))
      .commit({ signal, timeoutMs });
    if (!res.succeeded) {
      this._released();
      this.#key = "";
      this.#revision = -1n;
      throw new ElectionNotLeaderError();
    }
  }
}

function sameBytes(a: Uint8Array, b: string | Uint8Array): boolean {
  const bb = typeof b === "string" ? new TextEncoder().encode(b) : b;
  return a.length === bb.length && a.every((x, i) => x === bb[i]);
}
