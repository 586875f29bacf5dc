import { InvalidArgumentError, shownInput } from "../client/core/index.js";
import type {
  BalancePolicy,
  CallObservation,
  PickCandidate,
  PickPolicy,
  PickRequest,
} from "./pick-policy.js";
import { P2cPolicy } from "./policies/p2c.js";
import { type P2cEwmaOptions, P2cEwmaPolicy, p2cEwmaSettings } from "./policies/p2c-ewma.js";
import { type RingHashOptions, RingHashPolicy, ringHashSettings } from "./policies/ring-hash.js";
import { RoundRobinPolicy } from "./policies/round-robin.js";

export type { BalancePolicy, PickCandidate, PickRequest } from "./pick-policy.js";

/** Options of the policies that have some, by policy. */
export interface PolicyOptions {
  /** Options of `p2c-ewma` (ignored by the others). */
  p2cEwma?: P2cEwmaOptions | undefined;
  /** Options of `ring-hash` (ignored by the others). */
  ringHash?: RingHashOptions | undefined;
}

/** The policies by name: adding one is a file under `policies/` and a line here. */
const POLICIES: Record<BalancePolicy, (random: () => number, options: PolicyOptions) => PickPolicy> = {
  "round-robin": () => new RoundRobinPolicy(),
  p2c: (random) => new P2cPolicy(random),
  "p2c-ewma": (random, options) => new P2cEwmaPolicy(p2cEwmaSettings(options.p2cEwma), random),
  "ring-hash": (random, options) => new RingHashPolicy(ringHashSettings(options.ringHash), random),
};

/**
 * Checks a policy name and its options as a JavaScript caller may give them; throws
 * `InvalidArgumentError` naming the field.
 */
export function checkPolicy(policy: unknown, options: PolicyOptions = {}): void {
  if (policy !== undefined && !(typeof policy === "string" && Object.hasOwn(POLICIES, policy)))
    throw new InvalidArgumentError(
      "policy",
      `must be one of ${Object.keys(POLICIES).join(", ")}, got ${shownInput(policy)}`,
    );
  checkRingHash(options.ringHash);
  const ewma = options.p2cEwma as unknown;
  if (ewma === undefined) return;
  if (ewma === null || typeof ewma !== "object")
    throw new InvalidArgumentError("p2cEwma", `must be an object, got ${shownInput(ewma)}`);
  const { decayMs } = ewma as P2cEwmaOptions;
  if (decayMs !== undefined && !(typeof decayMs === "number" && Number.isFinite(decayMs) && decayMs > 0))
    throw new InvalidArgumentError("p2cEwma.decayMs", `must be a number > 0, got ${shownInput(decayMs)}`);
}

/** HTTP header names: RFC 9110 tokens. */
const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;

function checkRingHash(options: unknown): void {
  if (options === undefined) return;
  if (options === null || typeof options !== "object")
    throw new InvalidArgumentError("ringHash", `must be an object, got ${shownInput(options)}`);
  const { header, pointsPerWeight } = options as RingHashOptions;
  if (header !== undefined && !(typeof header === "string" && HEADER_NAME.test(header)))
    throw new InvalidArgumentError(
      "ringHash.header",
      `must be an HTTP header name, got ${shownInput(header)}`,
    );
  if (
    pointsPerWeight !== undefined &&
    !(typeof pointsPerWeight === "number" && Number.isFinite(pointsPerWeight) && pointsPerWeight > 0)
  )
    throw new InvalidArgumentError(
      "ringHash.pointsPerWeight",
      `must be a number > 0, got ${shownInput(pointsPerWeight)}`,
    );
}

/**
 * Chooses among candidates with the named policy (`policies/`): round robin is nginx's smooth weighted
 * round robin (each instance gets its weight's share, spread evenly); p2c draws two at random by weight
 * and takes the one with fewer calls in flight per unit of weight; p2c-ewma takes the one with the lower
 * peak EWMA latency × (calls in flight + 1) per unit of weight; ring-hash sends each hash key to the
 * instance that owns it on a consistent-hash ring (a random one without a key). Instances with weight 0 are never chosen.
 * Each candidates array is indexed once, on its first pick: hand a new array when the set or a weight
 * changes, never a modified one (as the balanced transport's pool does).
 */
export class Picker implements PickPolicy {
  readonly #policy: PickPolicy;
  /** The positive-weight candidates of each array handed in (the array itself when all are). */
  readonly #usable = new WeakMap<readonly PickCandidate[], readonly PickCandidate[]>();

  constructor(policy: BalancePolicy, random: () => number = Math.random, options: PolicyOptions = {}) {
    checkPolicy(policy, options);
    this.#policy = POLICIES[policy](random, options);
  }

  /**
   * Picks one candidate (at `now`, default the clock) for the call `request` describes, or undefined
   * when none has a positive weight.
   */
  pick<C extends PickCandidate>(
    candidates: readonly C[],
    now: number = Date.now(),
    request?: PickRequest,
  ): C | undefined {
    let usable = this.#usable.get(candidates) as readonly C[] | undefined;
    if (!usable) {
      // The balanced transport passes positive weights only: no copy on its path, one check per array.
      usable = candidates.every((c) => c.instance.weight > 0)
        ? candidates
        : candidates.filter((c) => c.instance.weight > 0);
      this.#usable.set(candidates, usable);
    }
    if (usable.length === 0) return undefined;
    if (usable.length === 1) return usable[0];
    return this.#policy.pick(usable, now, request);
  }

  /** Hands a finished call to the policy (p2c-ewma learns from it; the others ignore it). */
  observe(key: string, observation: CallObservation, now: number): void {
    this.#policy.observe(key, observation, now);
  }

  /** Forgets what the policy knows of one instance (gone, or ejected: it comes back with a fresh one). */
  forget(key: string): void {
    this.#policy.forget(key);
  }
}
