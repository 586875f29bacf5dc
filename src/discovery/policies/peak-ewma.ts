/**
 * The latency and success record of one instance for p2c-ewma, on a clock passed in (no timers).
 *
 * Latency is a peak EWMA (Finagle's `PeakEwma`, as Linkerd uses it): a call slower than the current cost
 * sets the cost at once (a slowdown is believed immediately), a faster one pulls it down by the weight
 * `1 − e^(−Δt/decay)`, Δt being the time since the previous call ended (a recovery is believed over
 * time, not over call counts). Between calls the cost decays towards 0 with the same time constant, so an
 * instance left alone for a few `decayMs` is tried again. The success rate is go-zero's: an EWMA of 1
 * (answered) and 0 (failed) with the same weight. The first call sets both outright.
 */
export class PeakEwma {
  readonly #decayMs: number;
  #cost = 0;
  #success = 1;
  #stamp = 0;
  #measured = false;

  /** `decayMs`: the time constant of both averages. */
  constructor(decayMs: number) {
    this.#decayMs = decayMs;
  }

  /** Records a call that ended at `now` after `latencyMs`, `failed` or not. */
  observe(latencyMs: number, failed: boolean, now: number): void {
    const rtt = Math.max(0, latencyMs);
    const outcome = failed ? 0 : 1;
    if (!this.#measured) {
      this.#cost = rtt;
      this.#success = outcome;
      this.#measured = true;
    } else {
      const w = Math.exp(-Math.max(0, now - this.#stamp) / this.#decayMs);
      this.#cost = rtt > this.#cost ? rtt : this.#cost * w + rtt * (1 - w);
      this.#success = this.#success * w + outcome * (1 - w);
    }
    this.#stamp = now;
  }

  /** The latency cost at `now` in ms (decayed since the last call), or undefined before any call ended. */
  cost(now: number): number | undefined {
    if (!this.#measured) return undefined;
    return this.#cost * Math.exp(-Math.max(0, now - this.#stamp) / this.#decayMs);
  }

  /** The success rate, 1 before any call ended. */
  get success(): number {
    return this.#success;
  }
}
