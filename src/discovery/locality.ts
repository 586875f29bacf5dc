import { checkNumber, checkOptionsObject, InvalidArgumentError, shownInput } from "../client/core/index.js";
import type { PickCandidate } from "./pick-policy.js";

/**
 * Zone preference of a balanced transport: where the caller runs, and how much healthy capacity its zone
 * must have to keep every call.
 */
export interface LocalityOptions {
  /** The caller's zone: instances registered with this `zone` are preferred. Required. */
  zone: string;
  /** The caller's region: when its zone lacks capacity, instances with this `region` come next. Default none. */
  region?: string | undefined;
  /**
   * Healthy instances (not draining, serving, not ejected, weight > 0) the preferred set must have to
   * keep every call. Default 1.
   */
  minInstances?: number | undefined;
  /**
   * Share, in [0, 1], of the service's healthy weight that the preferred set must carry to keep every
   * call. Default 0 (only `minInstances` counts).
   */
  minShare?: number | undefined;
}

/** {@link LocalityOptions} checked, with defaults filled. */
export interface LocalitySettings {
  readonly zone: string;
  readonly region: string | undefined;
  readonly minInstances: number;
  readonly minShare: number;
}

/**
 * Checks {@link LocalityOptions} as a JavaScript caller may give them and fills the defaults; throws
 * `InvalidArgumentError` naming the field.
 */
export function localitySettings(options: LocalityOptions): LocalitySettings {
  checkOptionsObject(options, "locality", false);
  const { zone, region, minInstances, minShare } = options;
  if (typeof zone !== "string" || zone === "")
    throw new InvalidArgumentError("locality.zone", `must be a non-empty string, got ${shownInput(zone)}`);
  if (region !== undefined && (typeof region !== "string" || region === ""))
    throw new InvalidArgumentError(
      "locality.region",
      `must be a non-empty string, got ${shownInput(region)}`,
    );
  if (minInstances !== undefined && !(Number.isInteger(minInstances) && minInstances >= 1))
    throw new InvalidArgumentError(
      "locality.minInstances",
      `must be an integer >= 1, got ${shownInput(minInstances)}`,
    );
  checkNumber(minShare, "locality.minShare", 0);
  if (minShare !== undefined && minShare > 1)
    throw new InvalidArgumentError(
      "locality.minShare",
      `must be a number in [0, 1], got ${shownInput(minShare)}`,
    );
  return { zone, region, minInstances: minInstances ?? 1, minShare: minShare ?? 0 };
}

/** How close an instance is to the caller: 0 same zone, 1 same region, 2 elsewhere. */
export function localityTier(
  instance: { readonly zone?: string | undefined; readonly region?: string | undefined },
  settings: LocalitySettings,
): 0 | 1 | 2 {
  if (instance.zone === settings.zone) return 0;
  if (settings.region !== undefined && instance.region === settings.region) return 1;
  return 2;
}

/**
 * The candidates calls go to: the caller's zone while its healthy instances meet the threshold (at least
 * `minInstances`, carrying at least `minShare` of the healthy weight of `healthy`), else the zone and the
 * rest of its region, else everyone. Each step keeps the closer instances (spill-over adds capacity, it
 * does not move calls away from the ones still up). `healthy` is the set a pick would otherwise use; the
 * result is `healthy` itself when nothing is narrowed, so a policy keeps its index. O(n): called when the
 * set changes, never per pick.
 */
export function localCandidates<C extends PickCandidate>(
  healthy: readonly C[],
  settings: LocalitySettings,
): readonly C[] {
  const count = [0, 0, 0];
  const weight = [0, 0, 0];
  let total = 0;
  const tiers = healthy.map((c) => {
    const tier = localityTier(c.instance, settings);
    count[tier]!++;
    weight[tier]! += c.instance.weight;
    total += c.instance.weight;
    return tier;
  });
  let cumulativeCount = 0;
  let cumulativeWeight = 0;
  for (const tier of [0, 1] as const) {
    cumulativeCount += count[tier]!;
    cumulativeWeight += weight[tier]!;
    if (cumulativeCount === healthy.length) return healthy;
    if (
      cumulativeCount >= settings.minInstances &&
      cumulativeWeight >= settings.minShare * total &&
      cumulativeWeight > 0
    )
      return healthy.filter((_, i) => tiers[i]! <= tier);
  }
  return healthy;
}
