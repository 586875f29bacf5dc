import type { Bytes } from "../kv/bytes.js";

/** A lock held through etcd's Lock service: the key that exists while it is held. */
export interface ServerLock {
  /**
   * The lock's key, `<name>/<lease hex>` (as Go's `concurrency.Mutex` names it), in the client's keys
   * (without a namespace view's prefix). Pass it to `unlock()`; guard writes with its create revision.
   */
  readonly key: Uint8Array;
  /** The store revision when the lock was acquired (the answer's header). */
  readonly revision: bigint;
}

/**
 * A leadership won through etcd's Election service (the server's `LeaderKey`). `campaign()` answers
 * with one; `proclaim()` and `resign()` take it back. Its fields may come from another process: any
 * object with them works.
 */
export interface LeaderKey {
  /** The election's name. */
  readonly name: Bytes;
  /** The leader's key, `<name>/<lease hex>`: leadership lasts while it exists. */
  readonly key: Bytes;
  /** The key's create revision (the server's `rev`): a fencing token, compared in txns. */
  readonly revision: bigint | number;
  /** The lease the leadership is attached to. */
  readonly lease: bigint | number;
}

/** A {@link LeaderKey} as `campaign()` gives it. */
export interface Leadership extends LeaderKey {
  readonly name: Uint8Array;
  readonly key: Uint8Array;
  readonly revision: bigint;
  readonly lease: bigint;
}
