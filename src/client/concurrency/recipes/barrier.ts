import { checkName } from "../../core/validation.js";
import { checkPort, type EtcdPort } from "../../port.js";
import { waitDeletes } from "../key.js";
import { putNewKey } from "./new-key.js";
import { type RecipeWaitOptions, RecipeWaits } from "./waits.js";

/**
 * A barrier (Go's `recipe.Barrier`, same key): while the key `key` exists, `wait()` blocks; `release()`
 * deletes it and lets every waiter through. `hold()` creates it (no lease: it outlives its creator until
 * released). Nothing runs between calls; `close()` ends the calls in flight with a `ClosedError` and
 * refuses new ones (the barrier key stays as it is).
 */
export class Barrier implements AsyncDisposable {
  /** The client the barrier's key is read and written with. */
  readonly etcd: EtcdPort;
  /** The barrier's key. */
  readonly key: string;
  readonly #waits: RecipeWaits;

  /** A barrier on `key` (a non-empty string), through `etcd` (an `Etcd` or a namespace view of one). */
  constructor(etcd: EtcdPort, key: string) {
    this.etcd = checkPort(etcd, "etcd");
    this.key = checkName(key, "key");
    this.#waits = new RecipeWaits(`barrier ${key}`);
  }

  /** Holds the barrier: creates its key (Go's `Hold`); `KeyExistsError` if it is held already. */
  async hold(options: RecipeWaitOptions = {}): Promise<void> {
    await this.#waits.run("hold", options, (signal) => putNewKey(this.etcd, this.key, "", 0n, { signal }));
  }

  /** Releases the barrier: deletes its key (Go's `Release`), whoever held it; waiters go through. */
  async release(options: RecipeWaitOptions = {}): Promise<void> {
    await this.#waits.run("release", options, (signal) => this.etcd.delete(this.key, { signal }));
  }

  /**
   * Waits until the barrier is not held (Go's `Wait`): at once if its key does not exist, else until it is
   * deleted. A watch that breaks meanwhile is followed by a read and a new watch (the one follower).
   */
  async wait(options: RecipeWaitOptions = {}): Promise<void> {
    await this.#waits.run("wait", options, async (signal) => {
      // The first read outside the follower: an error there (permission denied...) is the caller's to see.
      const held = await this.etcd.range(this.key, { signal });
      if (held.kvs.length === 0) return;
      await waitDeletes(this.etcd, { key: this.key }, undefined, signal);
    });
  }

  /** Ends the calls in flight (`ClosedError`) and refuses new ones; the key stays. Never rejects. */
  async close(): Promise<void> {
    this.#waits.close();
  }

  /** Same as `close()`, for `await using`. */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }
}
