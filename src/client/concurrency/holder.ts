import { InvalidUsageError } from "../core/errors.js";
import { EventEmitter } from "../core/event-emitter.js";
import { untilAborted } from "../core/signals.js";
import { SessionExpiredError } from "./errors.js";
import { HoldMonitor } from "./hold-monitor.js";
import { waitDeletes } from "./key.js";
import { rejectOnLost } from "./reject-on-lost.js";
import type { Session } from "./session.js";

/** Events of a {@link Mutex} or an {@link Election}. */
export interface HolderEvents<State extends string> {
  /** The state changed; emitted from a microtask. */
  state: [State];
  /**
   * The current hold (lock or leadership) ended, once per hold: with a `LockLostError` when it was
   * lost, `undefined` when this process released it (`unlock()`, `resign()`, `close()`).
   */
  close: [Error | undefined];
}

/**
 * What a {@link Mutex} and an {@link Election} share: they are reusable, so the live object of the
 * lifecycle convention is each hold. `closed` and `signal` describe the current hold; `state` moves
 * through `idle → waiting → held` (the subclasses name them), to `lost` when a hold ends by itself.
 */
export abstract class Holder<State extends string> extends EventEmitter<HolderEvents<State>> {
  readonly #what: string;
  readonly #states: { idle: State; waiting: State; held: State; lost: State };
  #state: State;
  #hold: HoldMonitor | undefined;

  protected constructor(what: string, states: { idle: State; waiting: State; held: State; lost: State }) {
    super();
    this.#what = what;
    this.#states = states;
    this.#state = states.idle;
  }

  /** Where it is (see the subclass). */
  get state(): State {
    return this.#state;
  }

  /**
   * The current hold's end: resolves with a `LockLostError` when lost, `undefined` once released here.
   * Never rejects; throws `InvalidUsageError` when nothing is held.
   */
  get closed(): Promise<Error | undefined> {
    return this.#current().closed;
  }

  /** Aborted when the current hold ends (hand it to work guarded by the hold); throws when nothing is held. */
  get signal(): AbortSignal {
    return this.#current().signal;
  }

  /** @internal The current hold, if any (also once lost, until released). */
  protected get _hold(): HoldMonitor | undefined {
    return this.#hold;
  }

  /** @internal Acquiring: `waiting`. */
  protected _waiting(): void {
    if (!this.#hold) this.#set(this.#states.waiting);
  }

  /** @internal Acquired `key` (created at `createRevision`), as of store revision `fromRevision - 1`. */
  protected _held(session: Session, key: string, createRevision: bigint, fromRevision: bigint): void {
    this.#hold?.stop(); // acquiring again while held (Go allows it): one hold per key
    const hold = new HoldMonitor(this.#what, session, key, createRevision, fromRevision);
    this.#hold = hold;
    this.#set(this.#states.held);
    hold.onEnd((error) => {
      if (this.#hold === hold && error) this.#set(this.#states.lost);
      queueMicrotask(() => this.emit("close", error));
    });
  }

  /**
   * @internal Waits for our turn: every key under `prefix` created before ours (at `createRevision`) is
   * gone, and ours is still there. Resolves with the revision of the read that found ours; rejects with
   * `SessionExpiredError` when the session's lease went while waiting (or took our key with it), with
   * `signal`'s reason, or with the read's error. Go's `waitDeletes` followed by `Mutex.Lock`'s and
   * `Election.Campaign`'s check of the key.
   */
  protected async _waitTurn(
    session: Session,
    prefix: string,
    key: string,
    createRevision: bigint,
    signal: AbortSignal,
  ): Promise<bigint> {
    // The session's loss ends the wait at once: its key is gone, and so is our place in the queue.
    const lost = rejectOnLost(
      (l) => session._onEnd(l),
      signal,
      (cause) => new SessionExpiredError(session.leaseId, { cause }),
    );
    await untilAborted(
      Promise.race([waitDeletes(session.etcd, { prefix }, createRevision - 1n, signal), lost]),
      signal,
    );
    // Our key may have gone while we waited (lease revoked or expired; etcd3 #158/#176): then we hold nothing.
    const mine = await session.etcd.range(key, { signal });
    if (mine.kvs[0]?.createRevision !== createRevision) throw new SessionExpiredError(session.leaseId);
    return mine.revision;
  }

  /** @internal Released (or gave up acquiring): ends the hold cleanly, back to `idle`. */
  protected _released(): void {
    const hold = this.#hold;
    this.#hold = undefined;
    hold?.stop();
    this.#set(this.#states.idle);
  }

  #current(): HoldMonitor {
    if (!this.#hold) throw new InvalidUsageError(`${this.#what}: nothing is held`);
    return this.#hold;
  }

  #set(state: State): void {
    if (state === this.#state) return;
    this.#state = state;
    queueMicrotask(() => this.emit("state", state));
  }
}
