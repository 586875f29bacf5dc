import type { PickCandidate, PickPolicy } from "../pick-policy.js";
import { WeightedDraws } from "../weighted-draw.js";

/** Calls in flight (this one counted) per unit of weight. */
function load(c: PickCandidate): number {
  return (c.inFlight + 1) / c.instance.weight;
}

/**
 * Power of two choices by calls in flight: two instances drawn at random by weight, the one with fewer
 * calls in flight per unit of weight wins (ties: the first drawn). O(log n) per pick (O(1) with equal
 * weights). Learns nothing from calls: for latency, see `P2cEwmaPolicy`.
 */
export class P2cPolicy implements PickPolicy {
  readonly #random: () => number;
  readonly #draws = new WeightedDraws();

  /** `random` gives numbers in [0, 1) (default `Math.random`). */
  constructor(random: () => number = Math.random) {
    this.#random = random;
  }

  /** Picks the less loaded of two weighted draws. */
  pick<C extends PickCandidate>(candidates: readonly C[]): C | undefined {
    if (candidates.length <= 1) return candidates[0];
    const [i, j] = this.#draws.of(candidates).pair(this.#random);
    const a = candidates[i]!;
    const b = candidates[j]!;
    return load(b) < load(a) ? b : a;
  }

  /** p2c learns nothing from calls. */
  observe(): void {}

  /** p2c keeps nothing per instance. */
  forget(): void {}
}
