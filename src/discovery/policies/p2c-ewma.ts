import type { CallObservation, PickCandidate, PickPolicy } from "../pick-policy.js";
import { WeightedDraws } from "../weighted-draw.js";
import { PeakEwma } from "./peak-ewma.js";

/** Options of the `p2c-ewma` policy. */
export interface P2cEwmaOptions {
  /**
   * Time constant of the latency and success averages, in ms: how fast a faster answer pulls an
   * instance's cost down, and how fast an idle instance's cost decays (so that it is tried again).
   * Default 10000 (Finagle's and go-zero's).
   */
  decayMs?: number | undefined;
}

/** {@link P2cEwmaOptions} with every default applied. */
export type P2cEwmaSettings = Readonly<Required<P2cEwmaOptions>>;

/** Applies the defaults of {@link P2cEwmaOptions}. */
export function p2cEwmaSettings(options: P2cEwmaOptions = {}): P2cEwmaSettings {
  return { decayMs: options.decayMs ?? 10_000 };
}

/** The load of an instance with calls in flight but no call ended yet: last choice (Finagle's penalty). */
const PENALTY = 1e12;
/** go-zero's threshold: an instance whose success rate is at or below it is drawn around. */
const HEALTHY_SUCCESS = 0.5;
/** go-zero's pair draws that look for two healthy instances before taking the last pair drawn. */
const PAIR_DRAWS = 3;

/**
 * Power of two choices by peak EWMA latency (go-zero's `p2c_ewma`, Finagle's and Linkerd's peak EWMA):
 * two instances drawn at random by weight, the one with the lower load wins, the load being the peak
 * EWMA latency × (calls in flight + 1) / weight. The success rate is folded in as go-zero does: a pair
 * with an instance at or below 50 % success is drawn again, up to 3 pairs. An instance no call has ended
 * on yet has load 0 while idle (it is tried) and the highest load while it has a call in flight (it is
 * not flooded before its first answer). O(log n) per pick (O(1) with equal weights).
 *
 * Left out of go-zero's: the forced pick of an instance not picked for a second (with thousands of
 * instances every instance goes unpicked that long, which would make picks random); the idle decay
 * brings a shunned instance back instead.
 */
export class P2cEwmaPolicy implements PickPolicy {
  readonly #settings: P2cEwmaSettings;
  readonly #random: () => number;
  readonly #draws = new WeightedDraws();
  readonly #records = new Map<string, PeakEwma>();

  /** `random` gives numbers in [0, 1) (default `Math.random`). */
  constructor(settings: P2cEwmaSettings = p2cEwmaSettings(), random: () => number = Math.random) {
    this.#settings = settings;
    this.#random = random;
  }

  /** Picks the lower load of two weighted draws, preferring a pair of healthy instances. */
  pick<C extends PickCandidate>(candidates: readonly C[], now: number): C | undefined {
    if (candidates.length <= 1) return candidates[0];
    const draws = this.#draws.of(candidates);
    let a: C;
    let b: C;
    let tries = 0;
    do {
      const [i, j] = draws.pair(this.#random);
      a = candidates[i]!;
      b = candidates[j]!;
    } while (++tries < PAIR_DRAWS && !(this.#healthy(a.key) && this.#healthy(b.key)));
    return this.load(b, now) < this.load(a, now) ? b : a;
  }

  /** The load of `candidate` at `now`: what a pick compares (lower is better). */
  load(candidate: PickCandidate, now: number): number {
    const cost = this.#records.get(candidate.key)?.cost(now);
    if (cost === undefined) return candidate.inFlight > 0 ? PENALTY : 0;
    return (cost * (candidate.inFlight + 1)) / candidate.instance.weight;
  }

  /** Feeds a finished call into the instance's latency and success averages. */
  observe(key: string, observation: CallObservation, now: number): void {
    let record = this.#records.get(key);
    if (!record) {
      record = new PeakEwma(this.#settings.decayMs);
      this.#records.set(key, record);
    }
    record.observe(observation.latencyMs, observation.failed, now);
  }

  /** Drops the instance's record: it comes back as a new instance would. */
  forget(key: string): void {
    this.#records.delete(key);
  }

  #healthy(key: string): boolean {
    return (this.#records.get(key)?.success ?? 1) > HEALTHY_SUCCESS;
  }
}
