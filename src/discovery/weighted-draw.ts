import type { PickCandidate } from "./pick-policy.js";

/**
 * Weighted random draws from one candidates array in O(log n) (O(1) when every weight is equal): the
 * prefix sums of the weights, built once per array.
 */
export class WeightedDraw {
  readonly #size: number;
  /** Prefix sums of the weights; undefined when they are all equal (draws are then uniform). */
  readonly #prefix: Float64Array | undefined;

  constructor(candidates: readonly PickCandidate[]) {
    this.#size = candidates.length;
    const first = candidates[0]?.instance.weight;
    if (candidates.every((c) => c.instance.weight === first)) {
      this.#prefix = undefined;
      return;
    }
    this.#prefix = new Float64Array(candidates.length);
    let sum = 0;
    for (let i = 0; i < candidates.length; i++) {
      sum += candidates[i]!.instance.weight;
      this.#prefix[i] = sum;
    }
  }

  /** Index of one candidate drawn with probability weight / total; `random` gives [0, 1). */
  draw(random: () => number): number {
    const prefix = this.#prefix;
    if (!prefix) return Math.min(this.#size - 1, Math.floor(random() * this.#size));
    const r = random() * prefix[prefix.length - 1]!;
    // The first index whose prefix sum exceeds r.
    let lo = 0;
    let hi = prefix.length - 1;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (prefix[mid]! > r) hi = mid;
      else lo = mid + 1;
    }
    return lo;
  }

  /**
   * Two distinct indexes (the array has at least 2): the second is drawn again up to 4 times while it
   * equals the first, then taken as the first's neighbour (one instance with most of the weight must not
   * cost a loop).
   */
  pair(random: () => number): [number, number] {
    const a = this.draw(random);
    let b = this.draw(random);
    for (let i = 0; b === a && i < 4; i++) b = this.draw(random);
    if (b === a) b = (a + 1) % this.#size;
    return [a, b];
  }
}

/** One {@link WeightedDraw} per candidates array, built on first use (see `PickPolicy` on array identity). */
export class WeightedDraws {
  readonly #byArray = new WeakMap<readonly PickCandidate[], WeightedDraw>();

  /** The draw index of `candidates`. */
  of(candidates: readonly PickCandidate[]): WeightedDraw {
    let draw = this.#byArray.get(candidates);
    if (!draw) {
      draw = new WeightedDraw(candidates);
      this.#byArray.set(candidates, draw);
    }
    return draw;
  }
}
