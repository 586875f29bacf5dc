import type { Transport } from "@connectrpc/connect";
import type { InstanceChange } from "./discovery.js";
import type { ServiceInstance } from "./instance.js";
import { type CallOutcome, InstanceHealth, type OutlierDetectionSettings } from "./outlier-detection.js";
import type { PickCandidate, PickPolicy, PickRequest } from "./pick-policy.js";

/** How one call ended, for the policy and for success-rate ejection. */
export interface CallReport {
  /** Time from sending to the end, in ms. */
  readonly latencyMs: number;
  /** The call's `callVerdict`: failed, answered, or undefined when it says nothing about the instance. */
  readonly failed: boolean | undefined;
}

/** One instance as a balanced transport keeps it: what the picker sees, plus its health and transport. */
export interface PoolMember extends PickCandidate {
  readonly key: string;
  instance: ServiceInstance;
  inFlight: number;
  /** Undefined when outlier detection is off. */
  readonly health: InstanceHealth | undefined;
  /** Made on first use. */
  transport: Transport | undefined;
  /** Left the view (or changed address); closed once its calls in flight end. */
  gone: boolean;
}

/**
 * The instances a balanced transport picks from, kept up to date from the discovery's change events so
 * that a pick copies nothing: the non-draining, positive-weight instances live in one array rebuilt on
 * view changes, and the ones not ejected in another, rebuilt on an ejection or once the earliest ejection
 * ends (checked by timestamp on pick; there are no timers).
 */
export class PickPool {
  readonly #picker: PickPolicy;
  readonly #detection: OutlierDetectionSettings | undefined;
  readonly #onGone: (member: PoolMember) => void;
  readonly #members = new Map<string, PoolMember>();
  /** Keys that active health checks took out (NOT_SERVING): left out of `#usable` like draining ones. */
  readonly #notServing = new Set<string>();
  /** Non-draining, serving, weight > 0. */
  #usable: PoolMember[] = [];
  /** `#usable` minus the ejected, valid until `#activeUntil` unless `#stale`. */
  #active: PoolMember[] = [];
  #activeUntil = 0;
  #stale = true;

  /**
   * `picker` is the policy (it never sees a draining, weight-0 or ejected member, and is handed the same
   * array until the set changes); `onGone` gets each member that leaves (to close its transport when
   * its calls end).
   */
  constructor(
    picker: PickPolicy,
    detection: OutlierDetectionSettings | undefined,
    onGone: (member: PoolMember) => void,
  ) {
    this.#picker = picker;
    this.#detection = detection;
    this.#onGone = onGone;
  }

  /** Members by key (the live map: do not modify). */
  get members(): ReadonlyMap<string, PoolMember> {
    return this.#members;
  }

  /** Applies a batch of view changes (an `added` for a known key counts as an update). */
  apply(changes: Iterable<InstanceChange>): void {
    for (const c of changes) {
      if (c.type === "removed") this.#remove(c.key);
      else this.#put(c.key, c.instance);
    }
    this.#rebuildUsable();
  }

  /** Marks a member serving or not (active health checks): a member not serving gets no calls. */
  setServing(key: string, serving: boolean): void {
    if (serving) {
      if (!this.#notServing.delete(key)) return;
    } else {
      if (!this.#members.has(key) || this.#notServing.has(key)) return;
      this.#notServing.add(key);
    }
    this.#rebuildUsable();
  }

  #rebuildUsable(): void {
    this.#usable = [];
    for (const m of this.#members.values()) {
      if (!m.instance.draining && m.instance.weight > 0 && !this.#notServing.has(m.key)) this.#usable.push(m);
    }
    this.#stale = true;
  }

  /**
   * Chooses a member not in `tried`: among the ones not ejected when there are any, else among the ejected
   * ones (ejection never makes a call fail). Undefined when no usable member is left untried.
   * `request` goes to the policy (the call's hash key).
   */
  choose(tried: ReadonlySet<string>, now: number, request?: PickRequest): PoolMember | undefined {
    if (this.#stale || now >= this.#activeUntil) this.#refresh(now);
    let pool = this.#active.length > 0 ? this.#active : this.#usable;
    if (tried.size > 0) {
      let rest = pool.filter((m) => !tried.has(m.key));
      if (rest.length === 0 && pool !== this.#usable) rest = this.#usable.filter((m) => !tried.has(m.key));
      pool = rest;
    }
    return pool.length > 0 ? this.#picker.pick(pool, now, request) : undefined;
  }

  /**
   * Records how a call to `member` ended at `now`: hands `call` to the policy, and may eject the member
   * (connection failures by `outcome`, success rate by `call.failed`).
   */
  record(member: PoolMember, outcome: CallOutcome, now: number, call?: CallReport): void {
    if (member.gone) return;
    if (call?.failed !== undefined) {
      this.#picker.observe(member.key, { latencyMs: call.latencyMs, failed: call.failed }, now);
    }
    if (!member.health?.record(outcome, now, call?.failed)) return;
    this.#picker.forget(member.key);
    this.#stale = true;
  }

  /** Keys of the members ejected at `now`. */
  ejected(now: number): string[] {
    const keys: string[] = [];
    for (const m of this.#members.values()) if (m.health?.isEjected(now)) keys.push(m.key);
    return keys;
  }

  /** Removes every member (each goes to `onGone`). */
  clear(): void {
    for (const key of [...this.#members.keys()]) this.#remove(key);
    this.#usable = [];
    this.#stale = true;
  }

  #refresh(now: number): void {
    this.#active = [];
    this.#activeUntil = Number.POSITIVE_INFINITY;
    for (const m of this.#usable) {
      if (m.health?.isEjected(now)) this.#activeUntil = Math.min(this.#activeUntil, m.health.ejectedUntil);
      else this.#active.push(m);
    }
    this.#stale = false;
  }

  #put(key: string, instance: ServiceInstance): void {
    const current = this.#members.get(key);
    if (current && current.instance.addr === instance.addr) {
      // Same address: same connection and same health record.
      current.instance = instance;
      return;
    }
    if (current) this.#remove(key);
    this.#members.set(key, {
      key,
      instance,
      inFlight: 0,
      health: this.#detection && new InstanceHealth(this.#detection),
      transport: undefined,
      gone: false,
    });
  }

  #remove(key: string): void {
    const member = this.#members.get(key);
    if (!member) return;
    this.#members.delete(key);
    this.#notServing.delete(key);
    this.#picker.forget(key);
    member.gone = true;
    this.#onGone(member);
  }
}
