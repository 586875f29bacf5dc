import type { ServiceInstance } from "./instance.js";
import { type LocalitySettings, localCandidates } from "./locality.js";
import type { PickCandidate } from "./pick-policy.js";
import type { WarmUp } from "./slow-start.js";

/**
 * A warming candidate as the policy sees it: its instance with the ramped weight; key and calls in
 * flight read live from the candidate behind it.
 */
export class WarmCandidate<C extends PickCandidate> implements PickCandidate {
  readonly member: C;
  readonly instance: ServiceInstance;

  constructor(member: C, factor: number) {
    this.member = member;
    this.instance = { ...member.instance, weight: member.instance.weight * factor };
  }

  get key(): string {
    return this.member.key;
  }

  get inFlight(): number {
    return this.member.inFlight;
  }
}

/** The candidate behind one that {@link shapeCandidates} handed the policy (itself when not reweighed). */
export function memberOf<C extends PickCandidate>(candidate: PickCandidate): C {
  return candidate instanceof WarmCandidate ? (candidate.member as C) : (candidate as C);
}

/**
 * Narrows `active` to the caller's locality (`localCandidates`) and reweighs the warming ones by their
 * slow-start factor at `now`: what a policy is handed, by the balanced transport's pool and by the grpc-js
 * `etcd_ts` policy alike. Returns `active` itself when nothing changes (a policy keeps its index). O(n):
 * called when the set changes or a ramp steps, never per pick. Reading the factors drops finished ramps.
 */
export function shapeCandidates<C extends PickCandidate>(
  active: readonly C[],
  locality: LocalitySettings | undefined,
  warmUp: WarmUp | undefined,
  now: number,
): readonly PickCandidate[] {
  const local = locality ? localCandidates(active, locality) : active;
  if (!warmUp) return local;
  let shaped: PickCandidate[] | undefined;
  for (let i = 0; i < local.length; i++) {
    const member = local[i]!;
    const factor = warmUp.factor(member.key, now);
    if (factor < 1) {
      shaped ??= local.slice(0, i);
      shaped.push(new WarmCandidate(member, factor));
    } else shaped?.push(member);
  }
  return shaped ?? local;
}
