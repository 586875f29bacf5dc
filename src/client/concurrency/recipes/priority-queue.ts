import { InvalidArgumentError } from "../../core/errors.js";
import { checkName, shownInput } from "../../core/validation.js";
import { checkPort, type EtcdPort } from "../../port.js";
import { dequeueFirst } from "./dequeue.js";
import { putSequentialKey } from "./new-key.js";
import { checkValue } from "./queue.js";
import { type RecipeWaitOptions, RecipeWaits } from "./waits.js";

/**
 * A queue whose items come out by priority, then in order (Go's `recipe.PriorityQueue`, same keys):
 * `enqueue(value, priority)` puts `<prefix>/<priority %05d>/<sequence %016d>`, numbered by a txn that
 * also writes `__<prefix>/<priority %05d>` (so a role for this queue needs both `<prefix>/` and
 * `__<prefix>/`). `dequeue()` takes the item with the smallest key: priority 0 first. Nothing runs
 * between calls; `close()` ends the calls in flight with a `ClosedError` and refuses new ones.
 */
export class PriorityQueue implements AsyncDisposable {
  /** The client the queue's keys are read and written with. */
  readonly etcd: EtcdPort;
  /** The queue's prefix: items are `<prefix>/<priority>/<sequence>`. */
  readonly prefix: string;
  readonly #waits: RecipeWaits;

  /** A priority queue under `prefix` (a non-empty string), through `etcd`. */
  constructor(etcd: EtcdPort, prefix: string) {
    this.etcd = checkPort(etcd, "etcd");
    this.prefix = checkName(prefix, "prefix");
    this.#waits = new RecipeWaits(`priority queue ${prefix}`);
  }

  /**
   * Appends `value` at `priority` (an integer 0..65535, Go's `uint16`; smaller comes out first) (Go's
   * `Enqueue`); resolves with the item's key.
   */
  async enqueue(value: string, priority: number, options: RecipeWaitOptions = {}): Promise<string> {
    checkValue(value);
    if (!Number.isInteger(priority) || priority < 0 || priority > 0xffff)
      throw new InvalidArgumentError("priority", `must be an integer 0..65535, got ${shownInput(priority)}`);
    const prefix = `${this.prefix}/${String(priority).padStart(5, "0")}`;
    return this.#waits.run(
      "enqueue",
      options,
      async (signal) => (await putSequentialKey(this.etcd, prefix, value, { signal })).key,
    );
  }

  /**
   * Takes the item with the smallest priority (the oldest of those) and resolves with its value (Go's
   * `Dequeue`), waiting for one when the queue is empty. Aborted, timed out or closed, it takes nothing.
   */
  async dequeue(options: RecipeWaitOptions = {}): Promise<string> {
    return this.#waits.run("dequeue", options, (signal) =>
      dequeueFirst(this.etcd, `${this.prefix}/`, "key", signal),
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
