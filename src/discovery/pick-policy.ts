import type { ServiceInstance } from "./instance.js";

/** How a balanced transport chooses an instance for a call: the name of a {@link PickPolicy}. */
export type BalancePolicy = "round-robin" | "p2c" | "p2c-ewma" | "ring-hash";

/** One instance as the picker sees it: its address, weight and calls in flight. */
export interface PickCandidate {
  readonly key: string;
  readonly instance: ServiceInstance;
  /** Calls in flight on it. */
  readonly inFlight: number;
}

/** What a call tells the policy about itself when it asks for an instance. */
export interface PickRequest {
  /** The call's hash key (`ring-hash` keeps one key on one instance); other policies ignore it. */
  readonly hashKey?: string | undefined;
}

/** What one finished call says to a policy that learns from calls (p2c-ewma). */
export interface CallObservation {
  /** Time from sending the call to its end, in ms (fractional). */
  readonly latencyMs: number;
  /** True when the instance failed the call by the client's failure rule (see `callVerdict`). */
  readonly failed: boolean;
}

/**
 * A picking policy: one file per policy under `policies/`. The pool hands it the candidates, hands it
 * what each call observed, and tells it which instances left; filtering (draining, ejected, weight 0,
 * already tried) is the pool's job, not the policy's.
 *
 * Picks must cost O(1) or O(log n): a policy may index a candidates array once and reuse the index for
 * as long as it is handed the same array object. The pool builds a new array whenever the set or a
 * weight changes and never modifies one it handed out, so an index keyed by array identity (a `WeakMap`)
 * is never stale.
 */
export interface PickPolicy {
  /**
   * Chooses one of `candidates` (non-empty, every weight > 0) at `now` (ms since the epoch) for the call
   * described by `request`, or undefined when it cannot.
   */
  pick<C extends PickCandidate>(candidates: readonly C[], now: number, request?: PickRequest): C | undefined;
  /** Learns how a call to `key` ended at `now`. Policies that do not learn ignore it. */
  observe(key: string, observation: CallObservation, now: number): void;
  /** Forgets what it knows of `key` (gone, or ejected: it comes back with a fresh record). */
  forget(key: string): void;
}
