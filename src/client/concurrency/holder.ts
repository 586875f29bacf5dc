import { EventEmitter } from "node:events";
import { InvalidUsageError } from "../core/errors.js";
import { HoldMonitor } from "./hold-monitor.js";
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
