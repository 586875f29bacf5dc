import type { ServiceInstance } from "./instance.js";

/** How a balanced transport chooses an instance for a call. */
export type BalancePolicy = "round-robin" | "p2c";

/** One instance as the picker sees it: its address, weight and calls in flight. */
export interface PickCandidate {
  readonly key: string;
  readonly instance: ServiceInstance;
  /** Calls in flight on it. */
  readonly inFlight: number;
}

/**
 * Chooses among candidates. Round robin is nginx's smooth weighted round robin (each instance gets its
 * weight's share, spread evenly); p2c draws two at random by weight and takes the one with fewer calls in
 * flight per unit of weight. Instances with weight 0 are never chosen.
 */
export class Picker {
  readonly #policy: BalancePolicy;
  readonly #random: () => number;
  /** Smooth-WRR running scores, by key. */
  readonly #scores = new Map<string, number>();

  constructor(policy: BalancePolicy, random: () => number = Math.random) {
    this.#policy = policy;
    this.#random = random;
  }

  /** Picks one candidate, or undefined when none has a positive weight. */
  pick<C extends PickCandidate>(candidates: readonly C[]): C | undefined {
    // The balanced transport passes positive weights only: no copy on its path.
    const usable = candidates.every((c) => c.instance.weight > 0)
      ? candidates
      : candidates.filter((c) => c.instance.weight > 0);
    if (usable.length === 0) return undefined;
    if (usable.length === 1) return usable[0];
    return this.#policy === "p2c" ? this.#p2c(usable) : this.#roundRobin(usable);
  }

  /** Forgets one instance's running score (gone, or ejected: it comes back with a fresh one). */
  forget(key: string): void {
    this.#scores.delete(key);
  }

  /** Forgets instances no longer present (keeps the score map bounded). */
  retain(keys: ReadonlySet<string>): void {
    for (const key of this.#scores.keys()) if (!keys.has(key)) this.#scores.delete(key);
  }

  #roundRobin<C extends PickCandidate>(usable: readonly C[]): C {
    let total = 0;
    let best: C | undefined;
    let bestScore = Number.NEGATIVE_INFINITY;
    for (const c of usable) {
      const score = (this.#scores.get(c.key) ?? 0) + c.instance.weight;
      this.#scores.set(c.key, score);
      total += c.instance.weight;
      if (score > bestScore) {
        bestScore = score;
        best = c;
      }
    }
    this.#scores.set(best!.key, bestScore - total);
    return best!;
  }

  #p2c<C extends PickCandidate>(usable: readonly C[]): C {
    const a = this.#weightedDraw(usable);
    let b = this.#weightedDraw(usable);
    for (let i = 0; b === a && i < 4; i++) b = this.#weightedDraw(usable);
    if (b === a) b = usable[(usable.indexOf(a) + 1) % usable.length]!;
    const load = (c: PickCandidate) => (c.inFlight + 1) / c.instance.weight;
    return load(b) < load(a) ? b : a;
  }

  #weightedDraw<C extends PickCandidate>(usable: readonly C[]): C {
    const total = usable.reduce((s, c) => s + c.instance.weight, 0);
    let r = this.#random() * total;
    for (const c of usable) {
      r -= c.instance.weight;
      if (r < 0) return c;
    }
    return usable[usable.length - 1]!;
  }
}
