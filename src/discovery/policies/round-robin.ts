import type { PickCandidate, PickPolicy } from "../pick-policy.js";

/** Instances of one weight: picked among themselves in turn (nginx's rule gives them a rotation). */
interface WeightGroup {
  readonly weight: number;
  /** Indexes into the candidates array, rotated so that a carried-over turn comes first. */
  readonly members: number[];
  /** Position in `members` of the next to pick. */
  next: number;
  /** Full turns of `members` so far. */
  turns: number;
}

/** The round-robin state of one candidates array. */
interface Rotation {
  readonly candidates: readonly PickCandidate[];
  readonly groups: WeightGroup[];
  readonly total: number;
  step: number;
}

/** Steps after which a rotation starts afresh (carrying its turn), so that `step × weight` stays exact. */
const RESTART_STEPS = 1e9;

/**
 * nginx's smooth weighted round robin: each instance gets its weight's share, spread evenly (weights
 * 5, 1, 1 give `a a b a c a a`). nginx adds each weight to a running score, picks the highest and takes
 * the total off it, which is one pass over the instances per pick. The same sequence comes from the
 * scores' closed form: after `k` steps an instance of weight `w` picked `c` times scores `k·w − total·c`,
 * so among instances of equal weight the next is always the one picked least (ties: first in order), a
 * plain rotation. A pick compares the head of each weight's rotation: O(d) for d distinct weights, O(1)
 * when all weights are equal.
 *
 * When the pool hands a new array (an instance came, went, was ejected), the rotation of each weight
 * continues from the instance whose turn it was, instead of starting over at the first.
 */
export class RoundRobinPolicy implements PickPolicy {
  readonly #rotations = new WeakMap<readonly PickCandidate[], Rotation>();
  #last: Rotation | undefined;

  /** Picks the instance whose turn it is. */
  pick<C extends PickCandidate>(candidates: readonly C[]): C | undefined {
    if (candidates.length === 0) return undefined;
    let rotation = this.#rotations.get(candidates);
    if (!rotation || rotation.step >= RESTART_STEPS) {
      rotation = this.#start(candidates, this.#last);
      this.#rotations.set(candidates, rotation);
    }
    this.#last = rotation;
    const step = ++rotation.step;
    let best: WeightGroup | undefined;
    let bestScore = Number.NEGATIVE_INFINITY;
    let bestIndex = 0;
    for (const g of rotation.groups) {
      const score = step * g.weight - rotation.total * g.turns;
      const index = g.members[g.next]!;
      if (score > bestScore || (score === bestScore && index < bestIndex)) {
        best = g;
        bestScore = score;
        bestIndex = index;
      }
    }
    if (++best!.next === best!.members.length) {
      best!.next = 0;
      best!.turns++;
    }
    return candidates[bestIndex];
  }

  /** Round robin learns nothing from calls. */
  observe(): void {}

  /** Nothing to forget: the state belongs to the candidates array, which the pool rebuilds. */
  forget(): void {}

  #start(candidates: readonly PickCandidate[], previous: Rotation | undefined): Rotation {
    const byWeight = new Map<number, WeightGroup>();
    let total = 0;
    for (let i = 0; i < candidates.length; i++) {
      const weight = candidates[i]!.instance.weight;
      total += weight;
      let g = byWeight.get(weight);
      if (!g) {
        g = { weight, members: [], next: 0, turns: 0 };
        byWeight.set(weight, g);
      }
      g.members.push(i);
    }
    if (previous) {
      // Whose turn it was, per weight: that instance goes first in the new rotation.
      for (const old of previous.groups) {
        const g = byWeight.get(old.weight);
        const turnKey = previous.candidates[old.members[old.next]!]!.key;
        const at = g ? g.members.findIndex((i) => candidates[i]!.key === turnKey) : -1;
        if (g && at > 0) g.members.push(...g.members.splice(0, at));
      }
    }
    return { candidates, groups: [...byWeight.values()], total, step: 0 };
  }
}
