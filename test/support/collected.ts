import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";

/** V8's collector, exposed for this process once (vitest workers run without --expose-gc). */
function collector(): () => void {
  setFlagsFromString("--expose-gc");
  return runInNewContext("gc") as () => void;
}
let gc: (() => void) | undefined;

/**
 * Counts objects that are still reachable: `track()` them, drop every reference of the test's own, then
 * `settle()` collects garbage until the count reaches the number expected (finalizers run between
 * collections). "Released" is then proven by the garbage collector, not by a client's bookkeeping.
 */
export class Reachable {
  #live = 0;
  readonly #registry = new FinalizationRegistry<undefined>(() => {
    this.#live--;
  });

  /** Objects tracked and not yet collected. */
  get live(): number {
    return this.#live;
  }

  /** Counts `object` until it is garbage-collected; returns it. */
  track<T extends object>(object: T): T {
    this.#live++;
    this.#registry.register(object, undefined);
    return object;
  }

  /** Collects garbage until at most `expected` tracked objects remain, or `timeoutMs` passed; the count then. */
  async settle(expected: number, timeoutMs = 20_000): Promise<number> {
    gc ??= collector();
    const until = Date.now() + timeoutMs;
    while (this.#live > expected && Date.now() < until) {
      gc();
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    return this.#live;
  }
}
