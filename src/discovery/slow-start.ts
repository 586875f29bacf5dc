import { checkOptionsObject, InvalidArgumentError, shownInput } from "../client/core/index.js";

/**
 * Slow start (warm-up) of a balanced transport, as Envoy's `slow_start_config`: a new instance's weight
 * is scaled by `max(minWeightPercent / 100, (t / windowMs) ^ (1 / aggression))`, t being the time since
 * the transport saw it join, until `windowMs` has passed.
 */
export interface SlowStartOptions {
  /** How long a new instance's weight ramps up, in ms. Default 60000. */
  windowMs?: number | undefined;
  /** The ramp's curve: 1 is linear, above 1 ramps faster early on, below 1 slower. Default 1. */
  aggression?: number | undefined;
  /** The lowest share of its weight a new instance gets, in percent (0, 100]. Default 10. */
  minWeightPercent?: number | undefined;
}

/** {@link SlowStartOptions} checked, with defaults filled. */
export interface SlowStartSettings {
  readonly windowMs: number;
  readonly aggression: number;
  readonly minWeightPercent: number;
}

/** Steps of a ramp: the effective weights are recomputed this many times over a window (at most every 100 ms). */
const RAMP_STEPS = 20;
const MIN_STEP_MS = 100;

/**
 * Checks {@link SlowStartOptions} as a JavaScript caller may give them and fills the defaults; throws
 * `InvalidArgumentError` naming the field.
 */
export function slowStartSettings(options: SlowStartOptions = {}): SlowStartSettings {
  checkOptionsObject(options, "slowStart");
  const { windowMs, aggression, minWeightPercent } = options;
  for (const [name, value] of [
    ["slowStart.windowMs", windowMs],
    ["slowStart.aggression", aggression],
    ["slowStart.minWeightPercent", minWeightPercent],
  ] as const)
    if (value !== undefined && !(typeof value === "number" && Number.isFinite(value) && value > 0))
      throw new InvalidArgumentError(name, `must be a number > 0, got ${shownInput(value)}`);
  if (minWeightPercent !== undefined && minWeightPercent > 100)
    throw new InvalidArgumentError(
      "slowStart.minWeightPercent",
      `must be a number in (0, 100], got ${shownInput(minWeightPercent)}`,
    );
  return {
    windowMs: windowMs ?? 60_000,
    aggression: aggression ?? 1,
    minWeightPercent: minWeightPercent ?? 10,
  };
}

/** The factor an instance's weight is scaled by `elapsedMs` after it joined: in [minWeightPercent / 100, 1]. */
export function slowStartFactor(elapsedMs: number, settings: SlowStartSettings): number {
  if (elapsedMs >= settings.windowMs) return 1;
  const timeFactor = Math.max(0, elapsedMs) / settings.windowMs;
  return Math.min(1, Math.max(settings.minWeightPercent / 100, timeFactor ** (1 / settings.aggression)));
}

/**
 * When each warming instance joined, on a clock passed in (no timers): the pool asks for each instance's
 * factor when it rebuilds its candidates, and for the time of the next rebuild while any instance warms
 * (every `windowMs / 20`, at least 100 ms apart), so a pick never computes a weight.
 */
export class WarmUp {
  readonly #settings: SlowStartSettings;
  readonly #joined = new Map<string, number>();

  constructor(settings: SlowStartSettings) {
    this.#settings = settings;
  }

  /** `key` joined (or came back to serving) at `now`: its ramp starts over. */
  start(key: string, now: number): void {
    this.#joined.set(key, now);
  }

  /** `key` left: nothing to ramp. */
  forget(key: string): void {
    this.#joined.delete(key);
  }

  /** The factor of `key`'s weight at `now` (1 once warm, and for instances never started); drops finished ramps. */
  factor(key: string, now: number): number {
    const joined = this.#joined.get(key);
    if (joined === undefined) return 1;
    const factor = slowStartFactor(now - joined, this.#settings);
    if (factor >= 1) this.#joined.delete(key);
    return factor;
  }

  /** Keys still ramping at `now`. */
  warming(now: number): string[] {
    const keys: string[] = [];
    for (const [key, joined] of this.#joined) if (now - joined < this.#settings.windowMs) keys.push(key);
    return keys;
  }

  /** When the weights should next be recomputed (after `now`): infinity when nothing warms. */
  nextStep(now: number): number {
    if (this.#joined.size === 0) return Number.POSITIVE_INFINITY;
    let end = Number.POSITIVE_INFINITY;
    for (const joined of this.#joined.values()) end = Math.min(end, joined + this.#settings.windowMs);
    return Math.min(end, now + Math.max(MIN_STEP_MS, this.#settings.windowMs / RAMP_STEPS));
  }
}
