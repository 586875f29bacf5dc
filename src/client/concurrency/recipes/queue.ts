import { checkName } from "../../core/validation.js";
import { checkPort, type EtcdPort } from "../../port.js";
import { dequeueFirst } from "./dequeue.js";
import { putUniqueKey } from "./new-key.js";
import { type RecipeWaitOptions, RecipeWaits } from "./waits.js";

/**
 * A multi-reader, multi-writer FIFO queue (Go's `recipe.Queue`, same keys): `enqueue(value)` puts
 * `<prefix>/<unix nanos>` (no lease), `dequeue()` takes the item with the oldest mod revision, waiting for
 * one when the queue is empty. Each item goes to exactly one `dequeue()`. Nothing runs between calls;
 * `close()` ends the calls in flight with a `ClosedError` and refuses new ones (items stay).
 */
export class Queue implements AsyncDisposable {
  /** The client the queue's keys are read and written with. */
  readonly etcd: EtcdPort;
  /** The queue's prefix: items are `<prefix>/<unix nanos>`. */
  readonly prefix: string;
  readonly #waits: RecipeWaits;

  /** A queue under `prefix` (a non-empty string), through `etcd` (an `Etcd` or a namespace view of one). */
  constructor(etcd: EtcdPort, prefix: string) {
    this.etcd = checkPort(etcd, "etcd");
    this.prefix = checkName(prefix, "prefix");
    this.#waits = new RecipeWaits(`queue ${prefix}`);
  }

  /** Appends `value` (Go's `Enqueue`); resolves with the item's key. */
  async enqueue(value: string, options: RecipeWaitOptions = {}): Promise<string> {
    checkValue(value);
    return this.#waits.run(
      "enqueue",
      options,
      async (signal) => (await putUniqueKey(this.etcd, this.prefix, value, 0n, { signal })).key,
    );
  }

  /**
   * Takes the oldest item and resolves with its value (Go's `Dequeue`), waiting for one when the queue is
   * empty. Aborted, timed out or closed, it takes nothing.
   */
  async dequeue(options: RecipeWaitOptions = {}): Promise<string> {
    return this.#waits.run("dequeue", options, (signal) =>
      dequeueFirst(this.etcd, `${this.prefix}/`, "mod", signal),
    );
  }

  /** Ends the calls in flight (`ClosedError`) and refuses new ones; the items stay. Never rejects. */
  async close(): Promise<void> {
    this.#waits.close();
  }

  /** Same as `close()`, for `await using`. */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }
}

/** Queue values are strings, as Go's. */
export function checkValue(value: string): void {
  if (typeof value !== "string") checkName(value, "value");
}
