import { InvalidArgumentError, InvalidUsageError } from "../../core/errors.js";
import { untilAborted } from "../../core/signals.js";
import { checkInstance, checkName, shownInput } from "../../core/validation.js";
import { done, follow, readAt } from "../../follow/follow.js";
import type { KeyValue } from "../../kv/key-value.js";
import { op } from "../../txn/ops.js";
import { SessionExpiredError } from "../errors.js";
import { isRetryable, waitDeletes, waitEvent } from "../key.js";
import { rejectOnLost } from "../reject-on-lost.js";
import { Session } from "../session.js";
import { TooManyClientsError } from "./errors.js";
import { deleteOwnKey, putSessionKey } from "./new-key.js";
import { type RecipeWaitOptions, RecipeWaits } from "./waits.js";

/**
 * A double barrier (Go's `recipe.DoubleBarrier`, same keys): `count` participants `enter()`, and none
 * gets through until all have; then each `leave()`s, and none gets through until all have. A participant
 * is the key `<key>/waiters/<unix nanos>` under its session's lease (a participant whose session ends is
 * gone); the last to enter puts `<key>/ready`, the last to leave deletes it.
 *
 * `close()` ends the calls in flight with a `ClosedError`, deletes this participant's key (best effort)
 * and refuses new calls; a call aborted or timed out deletes it too, so a participant that gave up blocks
 * nobody (others then go on without it).
 */
export class DoubleBarrier implements AsyncDisposable {
  /** The session whose lease the participant key is attached to. */
  readonly session: Session;
  /** The barrier's key (the prefix of its keys). */
  readonly key: string;
  /** How many participants the barrier waits for. */
  readonly count: number;
  readonly #waits: RecipeWaits;
  /** Our participant key between `enter()` and `leave()` (set before its put is sent). */
  #key = "";

  /** A barrier for `count` (an integer >= 1) participants on `key` (a non-empty string). */
  constructor(session: Session, key: string, count: number) {
    this.session = checkInstance(session, Session, "session", "a Session (await Session.create(etcd))");
    this.key = checkName(key, "key");
    if (!Number.isSafeInteger(count) || count < 1)
      throw new InvalidArgumentError("count", `must be an integer >= 1, got ${shownInput(count)}`);
    this.count = count;
    this.#waits = new RecipeWaits(`double barrier ${key}`);
  }

  /** This participant's key between `enter()` and `leave()`; `""` otherwise. */
  get participantKey(): string {
    return this.#key;
  }

  /**
   * Enters (Go's `Enter`) and waits until `count` participants have. `TooManyClientsError` when `count`
   * are in already; `SessionExpiredError` when the session ends while waiting; `InvalidUsageError` when
   * this object entered already. On any failure this participant's key is deleted.
   */
  async enter(options: RecipeWaitOptions = {}): Promise<void> {
    const entered = this.#key !== "";
    const body = async (signal: AbortSignal): Promise<void> => {
      if (entered) throw new InvalidUsageError(`double barrier ${this.key}: entered already`);
      const etcd = this.session.etcd;
      const waiters = { prefix: `${this.key}/waiters/` };
      const before = await etcd.range(waiters, { countOnly: true, signal });
      if (before.count >= BigInt(this.count)) throw new TooManyClientsError(this.key, this.count);
      const mine = await putSessionKey(this.session, `${this.key}/waiters`, signal, (key) => {
        this.#key = key;
      });
      const after = await etcd.range(waiters, { sort: { target: "create", order: "ascend" }, signal });
      const last = after.kvs[this.count - 1];
      if (last && mine.revision > last.createRevision) throw new TooManyClientsError(this.key, this.count);
      if (last && mine.revision === last.createRevision) {
        // The last one in: let everyone through.
        await etcd
          .txn()
          .onSuccess(op.put(`${this.key}/ready`, ""))
          .commit({ signal });
        return;
      }
      await this.#whileAlive(this.#waitReady(mine.revision, signal), signal);
    };
    // Entered already: nothing of ours to clean up.
    await this.#waits.run("enter", options, body, entered ? undefined : () => this.#abandon());
  }

  /**
   * Leaves (Go's `Leave`) and waits until every participant has: the lowest participant waits for the
   * others' keys to go, the others delete theirs and wait for the lowest's. `InvalidUsageError` when this
   * object has not entered. Aborted, timed out or closed, its key is deleted all the same.
   */
  async leave(options: RecipeWaitOptions = {}): Promise<void> {
    await this.#waits.run(
      "leave",
      options,
      (signal) => this.#leave(signal),
      () => this.#abandon(),
    );
  }

  async #leave(signal: AbortSignal): Promise<void> {
    const mine = this.#key;
    if (!mine) throw new InvalidUsageError(`double barrier ${this.key}: not entered`);
    const etcd = this.session.etcd;
    for (;;) {
      const res = await etcd.range({ prefix: `${this.key}/waiters/` }, { signal });
      const [lowest, highest] = lowestAndHighest(res.kvs);
      if (!lowest || !highest) break;
      const isLowest = lowest.keyText() === mine;
      if (res.kvs.length === 1 && isLowest) {
        // The last one out: the barrier is over.
        await etcd.delete(`${this.key}/ready`, { signal });
        await etcd.delete(mine, { signal });
        break;
      }
      // The lowest waits for the highest to go; the others go, then wait for the lowest. A participant
      // whose session ends is gone with its key, so nobody waits for it forever.
      if (!isLowest) await etcd.delete(mine, { signal });
      const awaited = isLowest ? highest : lowest;
      await waitDeletes(etcd, { key: awaited.keyText() }, undefined, signal);
    }
    this.#key = "";
  }

  /** Ends the calls in flight (`ClosedError`), deletes this participant's key (best effort); never rejects. */
  async close(): Promise<void> {
    this.#waits.close();
    await this.#abandon();
  }

  /** Same as `close()`, for `await using`. */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  /** Waits for a put of `<key>/ready` at `from` or later (Go: a watch from our key's revision). */
  async #waitReady(from: bigint, signal: AbortSignal): Promise<void> {
    const ready = `${this.key}/ready`;
    const etcd = this.session.etcd;
    const found = await follow<true>(
      {
        read: async (signal) => {
          const res = await etcd.range(ready, { signal });
          const kv = res.kvs[0];
          return kv && kv.modRevision >= from ? done(true) : readAt(res.revision);
        },
        watch: (from, signal) => waitEvent(etcd, ready, "put", from, signal),
        failed: (err) => {
          if (!isRetryable(err)) throw err;
          return true;
        },
      },
      { signal, from },
    );
    if (found === undefined) throw signal.reason;
  }

  /** `work`, rejected with `SessionExpiredError` if the session ends first (our key went with it). */
  async #whileAlive<T>(work: Promise<T>, signal: AbortSignal): Promise<T> {
    const session = this.session;
    const lost = rejectOnLost(
      (l) => session._onEnd(l),
      signal,
      (cause) => new SessionExpiredError(session.leaseId, { cause }),
    );
    return await untilAborted(Promise.race([work, lost]), signal);
  }

  /** Deletes this participant's key, if any, after a failure or on close (a lease keeps nothing forever). */
  async #abandon(): Promise<void> {
    const key = this.#key;
    this.#key = "";
    // The put may have gone through even if its answer did not come: delete our key by its lease.
    if (key) await deleteOwnKey(this.session.etcd, key, this.session.leaseId);
  }
}

/** The keys with the smallest and the largest mod revision (Go's `Leave` picks them so). */
function lowestAndHighest(kvs: readonly KeyValue[]): [KeyValue | undefined, KeyValue | undefined] {
  let lowest = kvs[0];
  let highest = kvs[0];
  for (const kv of kvs) {
    if (lowest && kv.modRevision < lowest.modRevision) lowest = kv;
    if (highest && kv.modRevision > highest.modRevision) highest = kv;
  }
  return [lowest, highest];
}
