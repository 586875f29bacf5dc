import type { CallOptions } from "../../call-options.js";
import { InvalidUsageError, LeaseNotFoundError } from "../../core/errors.js";
import type { KeyValue } from "../../kv/key-value.js";
import type { EtcdPort } from "../../port.js";
import { compare } from "../../txn/compare.js";
import { op } from "../../txn/ops.js";
import { SessionExpiredError } from "../errors.js";
import type { Session } from "../session.js";
import { KeyExistsError } from "./errors.js";

// How Go's experimental/recipes (key.go, client.go) make and take keys, in one place for every recipe.

/** A key a recipe made: its name and the revision that created it. */
export interface NewKey {
  readonly key: string;
  readonly revision: bigint;
}

/**
 * Puts `key` = `value` only if it does not exist (Go's `putNewKV`), under `lease` (0: none). Resolves
 * with the creating revision; rejects with `KeyExistsError` when it exists.
 */
export async function putNewKey(
  etcd: EtcdPort,
  key: string,
  value: string,
  lease: bigint,
  options: CallOptions,
): Promise<NewKey> {
  const res = await etcd
    .txn()
    .if(compare.version(key, "=", 0))
    .onSuccess(op.put(key, value, { lease }))
    .commit(options);
  if (!res.succeeded) throw new KeyExistsError(key);
  return { key, revision: res.revision };
}

/**
 * Wall-clock nanoseconds since the epoch, as Go's `time.Now().UnixNano()` names unique keys (microsecond
 * precision here; a clash only costs one more attempt).
 */
function unixNanos(): bigint {
  return BigInt(Math.round((performance.timeOrigin + performance.now()) * 1000)) * 1000n;
}

/**
 * Puts `<prefix>/<unix nanos>` = `value` under `lease`, a new name after each clash (Go's `newUniqueKV`
 * and `newUniqueEphemeralKV`). `onAttempt` learns each name before its txn is sent: a txn cut short (abort,
 * timeout) may still have put it, and the caller must then be able to delete it ({@link deleteOwnKey}).
 */
export async function putUniqueKey(
  etcd: EtcdPort,
  prefix: string,
  value: string,
  lease: bigint,
  options: CallOptions,
  onAttempt: (key: string) => void = () => {},
): Promise<NewKey> {
  let last = -1n;
  for (;;) {
    let nanos = unixNanos();
    if (nanos <= last) nanos = last + 1n;
    last = nanos;
    const key = `${prefix}/${nanos}`;
    onAttempt(key);
    try {
      return await putNewKey(etcd, key, value, lease, options);
    } catch (err) {
      if (!(err instanceof KeyExistsError)) throw err;
    }
  }
}

/**
 * Puts `<prefix>/<unix nanos>` = `""` under `session`'s lease (Go's `newUniqueEphemeralKey`), as
 * {@link putUniqueKey}; a lease the server no longer has is the session's end (`SessionExpiredError`).
 */
export async function putSessionKey(
  session: Session,
  prefix: string,
  signal: AbortSignal,
  onAttempt: (key: string) => void,
): Promise<NewKey> {
  try {
    return await putUniqueKey(session.etcd, prefix, "", session.leaseId, { signal }, onAttempt);
  } catch (err) {
    if (err instanceof LeaseNotFoundError) throw new SessionExpiredError(session.leaseId, { cause: err });
    throw err;
  }
}

/**
 * Puts `<prefix>/<%016d: one more than the last key's number>` = `value` (Go's `newSequentialKV`), in a
 * txn guarded by the mod revision of `__<prefix>`, which it also writes: two writers reading the same
 * last key cannot both get the next number, nor can a writer reuse a number freed by a delete.
 */
export async function putSequentialKey(
  etcd: EtcdPort,
  prefix: string,
  value: string,
  options: CallOptions,
): Promise<NewKey> {
  for (;;) {
    const last = await etcd.range(
      { prefix },
      { sort: { target: "key", order: "descend" }, limit: 1, signal: options.signal },
    );
    let next = 0n;
    const lastKey = last.kvs[0];
    if (lastKey) {
      const fields = lastKey.keyText().split("/");
      // Go's Sscanf("%d") reads the leading digits; a key without them is not ours to number after.
      const digits = /^[+-]?\d+/.exec(fields[fields.length - 1] ?? "");
      if (!digits)
        throw new InvalidUsageError(`${lastKey.keyText()}: not a sequential key (Go: "expected integer")`);
      next = BigInt(digits[0]) + 1n;
    }
    const key = `${prefix}/${next.toString().padStart(16, "0")}`;
    const baseKey = `__${prefix}`;
    const res = await etcd
      .txn()
      .if(compare.modRevision(baseKey, "<", last.revision + 1n))
      .onSuccess(op.put(baseKey, ""), op.put(key, value))
      .commit(options);
    if (res.succeeded) return { key, revision: res.revision };
  }
}

/** Deletes `key` if it was last modified at `modRevision` (Go's `deleteRevKey`): true when this call took it. */
export async function deleteRevKey(
  etcd: EtcdPort,
  key: Uint8Array,
  modRevision: bigint,
  options: CallOptions,
): Promise<boolean> {
  const res = await etcd
    .txn()
    .if(compare.modRevision(key, "=", modRevision))
    .onSuccess(op.delete(key))
    .commit(options);
  return res.succeeded;
}

/** Takes the first of `kvs` that nobody took meanwhile (Go's `claimFirstKey`); `undefined` when all were. */
export async function claimFirstKey(
  etcd: EtcdPort,
  kvs: readonly KeyValue[],
  options: CallOptions,
): Promise<KeyValue | undefined> {
  for (const kv of kvs) if (await deleteRevKey(etcd, kv.key, kv.modRevision, options)) return kv;
  return undefined;
}

/**
 * Deletes `key` if it is attached to `lease` (a key a session put, perhaps, in a txn whose answer never
 * came): never someone else's key of the same name. Best effort: a failure leaves it to the lease.
 */
export async function deleteOwnKey(etcd: EtcdPort, key: string, lease: bigint): Promise<void> {
  await etcd
    .txn()
    .if(compare.lease(key, "=", lease))
    .onSuccess(op.delete(key))
    .commit()
    .catch(() => {});
}
