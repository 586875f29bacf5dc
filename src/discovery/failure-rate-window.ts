/**
 * The last `size` verdicts (failed or not) of one instance's calls, in a ring: O(1) per call, no clock.
 * Success-rate ejection reads it once it is full, so a rate is never judged on a handful of calls.
 */
export class FailureRateWindow {
  readonly #ring: Uint8Array;
  #next = 0;
  #filled = 0;
  #failures = 0;

  /** `size`: calls in the window (at least 1). */
  constructor(size: number) {
    this.#ring = new Uint8Array(Math.max(1, size));
  }

  /** Adds one call's verdict, dropping the oldest when full. */
  add(failed: boolean): void {
    const ring = this.#ring;
    if (this.#filled === ring.length) this.#failures -= ring[this.#next]!;
    else this.#filled++;
    ring[this.#next] = failed ? 1 : 0;
    this.#failures += ring[this.#next]!;
    this.#next = (this.#next + 1) % ring.length;
  }

  /** The share of failed calls in the window, or undefined while it is not full. */
  rate(): number | undefined {
    return this.#filled === this.#ring.length ? this.#failures / this.#ring.length : undefined;
  }

  /** Empties the window (after an ejection: the instance is judged afresh). */
  clear(): void {
    this.#ring.fill(0);
    this.#next = 0;
    this.#filled = 0;
    this.#failures = 0;
  }
}
