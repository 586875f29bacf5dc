import { Lock } from "../../gen/v3lockpb/v3lock_pb.js";
import type { CallOptions } from "../call-options.js";
import { checkOptionsObject } from "../core/validation.js";
import type { Bytes } from "../kv/bytes.js";
import type { LockServiceContext } from "./context.js";
import { fromWire, type LeaseRef, leaseIdOf, wireName } from "./inputs.js";
import type { ServerLock } from "./types.js";

/** Options of {@link LockService.lock}. */
export interface ServerLockOptions extends CallOptions {
  /**
   * The lease the lock is held under (required): a `Lease` (`await etcd.lease.grant(ttl)`) or its ID.
   * The lock ends when the lease does; locking twice under one lease is one acquisition.
   */
  lease: LeaseRef;
}

/**
 * etcd's server-side Lock service (`v3lockpb.Lock`): the member runs Go's `concurrency.Mutex` for the
 * caller, with Go's keys (`<name>/<lease hex>`), so it excludes Go's `Mutex`, etcd-ts's own `Mutex` and
 * other service users on the same name. One RPC per step; no session is kept here: keep the lease alive
 * yourself (`etcd.lease.grant()` does). See docs/concurrency.md, "Server-side lock and election".
 */
export class LockService {
  readonly #ctx: LockServiceContext;

  /** @internal Made by `Etcd`: use `etcd.lockService`. */
  constructor(ctx: LockServiceContext) {
    this.#ctx = ctx;
  }

  /**
   * Waits until `name` is held under `options.lease`, then resolves with the lock's key. The wait is one
   * call: it ends with `DeadlineExceededError` after `timeoutMs` (the client's, 10 s by default: pass a
   * longer one to wait longer) and with `AbortedError` on `signal`; either way the member deletes the
   * waiter's key. Never retried once sent (see RETRY_TABLE). A name or lease that is missing or of the
   * wrong type is an `InvalidArgumentError`; a lease that does not exist a `LeaseNotFoundError`; a user
   * without read/write rights on the name's keys a `PermissionDeniedError` naming `Lock/Lock`.
   */
  lock(name: Bytes, options: ServerLockOptions): Promise<ServerLock> {
    let request: { name: Uint8Array; lease: bigint };
    try {
      checkOptionsObject(options, "options", false);
      request = { name: wireName(this.#ctx.keys, name), lease: leaseIdOf(options.lease) };
    } catch (err) {
      return Promise.reject(err);
    }
    return this.#ctx.caller.call({ method: Lock.method.lock, options }, request).then((res) => ({
      key: fromWire(this.#ctx.keys, res.key),
      revision: res.header?.revision ?? 0n,
    }));
  }

  /**
   * Releases a lock by deleting its key (`lock()`'s `key`, or a Go `Mutex`'s `Key()`); the next waiter
   * gets it. Deleting a key that is gone is no error. `key` must be a non-empty string or Uint8Array.
   */
  async unlock(key: Bytes, options?: CallOptions): Promise<void> {
    const request = { key: wireName(this.#ctx.keys, key, "key") };
    await this.#ctx.caller.call({ method: Lock.method.unlock, options }, request);
  }
}
