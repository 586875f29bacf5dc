import { Code } from "@connectrpc/connect";
import { EtcdError } from "../../core/errors.js";

/** The key a recipe creates exists already: `Barrier.hold()` on a barrier that is held (Go's `ErrKeyExists`). */
export class KeyExistsError extends EtcdError {
  override name = "KeyExistsError";
  /** The key that exists. */
  readonly key: string;
  constructor(key: string) {
    super(`${key}: key already exists`, { code: Code.AlreadyExists });
    this.key = key;
  }
}

/**
 * `DoubleBarrier.enter()` found the barrier full: `count` participants entered already (Go's
 * `ErrTooManyClients`). Our waiter key, if we made one, is deleted.
 */
export class TooManyClientsError extends EtcdError {
  override name = "TooManyClientsError";
  /** The barrier's key. */
  readonly key: string;
  constructor(key: string, count: number) {
    super(`${key}: too many clients (the barrier is for ${count})`, { code: Code.ResourceExhausted });
    this.key = key;
  }
}
