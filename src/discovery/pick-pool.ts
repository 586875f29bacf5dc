import type { Transport } from "@connectrpc/connect";
import { memberOf, shapeCandidates } from "./candidate-shaping.js";
import type { InstanceChange } from "./discovery.js";
import type { ServiceInstance } from "./instance.js";
import type { LocalitySettings } from "./locality.js";
import { type CallOutcome, InstanceHealth, type OutlierDetectionSettings } from "./outlier-detection.js";
import type { PickCandidate, PickPolicy, PickRequest } from "./pick-policy.js";
import { type SlowStartSettings, WarmUp } from "./slow-start.js";

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

/** What narrows and reweighs the healthy members before the policy picks (both off by default). */
export interface PoolShaping {
  /** Zone preference with spill-over. */
  readonly locality?: LocalitySettings | undefined;
  /** Weights of new members ramped up over a window. */
  readonly slowStart?: SlowStartSettings | undefined;
}

/**
 * The instances a balanced transport picks from, kept up to date from the discovery's change events so
 * that a pick copies nothing: the non-draining, positive-weight instances live in one array rebuilt on
 * view changes, and the ones not ejected in another, rebuilt on an ejection or once the earliest ejection
 * ends (checked by timestamp on pick; there are no timers). The candidates handed to the policy are the
 * ones not ejected, narrowed to the caller's locality and with warming members' weights ramped
 * (`PoolShaping`): computed on the same rebuilds, plus one every slow-start step while a member warms.
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
  /** `#active` narrowed by locality, warming members' weights ramped: what the policy is handed. */
  #candidates: readonly PickCandidate[] = [];
  #activeUntil = 0;
  #stale = true;
  readonly #locality: LocalitySettings | undefined;
  readonly #warmUp: WarmUp | undefined;

  /**
   * `picker` is the policy (it never sees a draining, weight-0 or ejected member, and is handed the same
   * array until the set changes); `onGone` gets each member that leaves (to close its transport when
   * its calls end).
   */
  constructor(
    picker: PickPolicy,
    detection: OutlierDetectionSettings | undefined,
    onGone: (member: PoolMember) => void,
    shaping: PoolShaping = {},
  ) {
    this.#locality = shaping.locality;
    this.#warmUp = shaping.slowStart && new WarmUp(shaping.slowStart);
    this.#picker = picker;
    this.#detection = detection;
    this.#onGone = onGone;
  }

  /** Members by key (the live map: do not modify). */
  get members(): ReadonlyMap<string, PoolMember> {
    return this.#members;
  }

  /**
   * Applies a batch of view changes at `now` (an `added` for a known key counts as an update). New members
   * start their slow start at `now`, unless `settled` (the first view: those instances were there before
   * this client).
   */
  apply(changes: Iterable<InstanceChange>, now: number = Date.now(), settled = false): void {
    for (const c of changes) {
      if (c.type === "removed") this.#remove(c.key);
      else if (this.#put(c.key, c.instance) && !settled) this.#warmUp?.start(c.key, now);
    }
    this.#rebuildUsable();
  }

  /**
   * Marks a member serving or not (active health checks): a member not serving gets no calls; one back to
   * serving at `now` starts its slow start again (as Envoy's does after a failed health check).
   */
  setServing(key: string, serving: boolean, now: number = Date.now()): void {
    if (serving) {
      if (!this.#notServing.delete(key)) return;
      this.#warmUp?.start(key, now);
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
    let pool: readonly PickCandidate[] = this.#candidates;
    if (tried.size > 0) {
      // Untried local ones first, then any untried healthy one, then any untried ejected one.
      for (const set of [this.#candidates, this.#active, this.#usable]) {
        pool = set.filter((m) => !tried.has(m.key));
        if (pool.length > 0) break;
      }
    }
    const chosen = pool.length > 0 ? this.#picker.pick(pool, now, request) : undefined;
    return chosen && memberOf<PoolMember>(chosen);
  }

  /** Keys of the members whose slow start is still ramping at `now` (empty when slow start is off). */
  warming(now: number): string[] {
    return this.#warmUp?.warming(now).filter((key) => this.#members.has(key)) ?? [];
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
    this.#candidates = this.#shape(now);
    if (this.#warmUp) this.#activeUntil = Math.min(this.#activeUntil, this.#warmUp.nextStep(now));
    this.#stale = false;
  }

  /**
   * What the policy is handed: the members not ejected, narrowed to the caller's locality, warming ones
   * reweighed; with every usable member ejected, all of them as they are (ejection never fails a call).
   */
  #shape(now: number): readonly PickCandidate[] {
    if (this.#active.length === 0) return this.#usable;
    return shapeCandidates(this.#active, this.#locality, this.#warmUp, now);
  }

  /** Adds or updates a member; true when it is new (a new key, or a new address). */
  #put(key: string, instance: ServiceInstance): boolean {
    const current = this.#members.get(key);
    if (current && current.instance.addr === instance.addr) {
      // Same address: same connection and same health record.
      current.instance = instance;
      return false;
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
    return true;
  }

  #remove(key: string): void {
    const member = this.#members.get(key);
    if (!member) return;
    this.#members.delete(key);
    this.#notServing.delete(key);
    this.#warmUp?.forget(key);
    this.#picker.forget(key);
    member.gone = true;
    this.#onGone(member);
  }
}
