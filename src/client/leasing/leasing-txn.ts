import type { CallOptions } from "../call-options.js";
import { InvalidArgumentError } from "../core/errors.js";
import type { Comparison } from "../txn/compare.js";
import {
  type RequestOpInit,
  type Txn,
  type TxnOp,
  type TxnRequestInit,
  type TxnResult,
  txn,
} from "../txn/txn.js";

/** Commits a leasing txn's request (the protocol, in `LeasingKv`): the user txn's response and revision. */
export type LeasingTxnCommitter = (
  nested: Txn,
  direct: Txn,
  options: CallOptions | undefined,
) => Promise<AnyTxnResult>;

/** A txn's result whatever its ops. */
export type AnyTxnResult = TxnResult<readonly TxnOp[], readonly TxnOp[]>;

/**
 * A txn through a leasing KV (`lkv.txn()`, Go's leasing `Txn`): the same builder as `etcd.txn()`
 * (`if`, `onSuccess`, `onFailure`, `commit`), with ops made by `op` (nested `op.txn` included) and
 * guards made by `compare`. `commit()` first revokes other clients' ownership of every key the txn may
 * write, in either branch, then commits the txn on etcd nested inside guards on those keys' leasing keys
 * (retried when a new owner appeared meanwhile), then updates this client's owned copies of the keys it
 * wrote. A txn that writes nothing is sent as `etcd.txn()` sends it. Reads and guards are answered by
 * etcd (linearizable), never from memory. Not thenable: it runs when `commit()` is called, exactly once.
 */
export class LeasingTxn<T extends readonly TxnOp[] = [], E extends readonly TxnOp[] = []> {
  /** The user's txn, to nest in the guards of a txn that writes. */
  readonly #nested: Txn<T, E>;
  /** The same txn from `etcd.txn()`, committed as is when it writes nothing. */
  readonly #direct: Txn<T, E>;
  readonly #commit: LeasingTxnCommitter;
  #committed = false;

  /** Made by `LeasingKv.txn()`: `direct` is a txn of its client (`etcd.txn()`). */
  constructor(direct: Txn, commit: LeasingTxnCommitter) {
    this.#nested = txn() as unknown as Txn<T, E>;
    this.#direct = direct as unknown as Txn<T, E>;
    this.#commit = commit;
  }

  /** Adds guards (made by `compare`); all must hold for the success branch to run. */
  if(...comparisons: Comparison[]): this {
    this.#nested.if(...comparisons);
    this.#direct.if(...comparisons);
    return this;
  }

  /** Sets the ops run when every guard holds (made by `op`, else `InvalidArgumentError`). */
  onSuccess<const N extends readonly TxnOp[]>(...ops: N): LeasingTxn<N, E> {
    this.#nested.onSuccess(...ops);
    this.#direct.onSuccess(...ops);
    return this as unknown as LeasingTxn<N, E>;
  }

  /** Sets the ops run when a guard fails (made by `op`, else `InvalidArgumentError`). */
  onFailure<const N extends readonly TxnOp[]>(...ops: N): LeasingTxn<T, N> {
    this.#nested.onFailure(...ops);
    this.#direct.onFailure(...ops);
    return this as unknown as LeasingTxn<T, N>;
  }

  /**
   * Runs the txn with the leasing protocol (see the class). `timeoutMs` bounds the whole commit, waits
   * for owners included, as for `LeasingKv.put()`. Rejects with `InvalidArgumentError` before sending
   * anything when an op's key is under the leasing prefix or the txn was already committed, and with
   * `ClosedError` once the leasing KV is closed.
   */
  async commit(options?: CallOptions): Promise<TxnResult<T, E>> {
    if (this.#committed) throw new InvalidArgumentError("txn", "was already committed; build a new one");
    this.#committed = true;
    const result = await this.#commit(
      this.#nested as unknown as Txn,
      this.#direct as unknown as Txn,
      options,
    );
    return result as TxnResult<T, E>;
  }
}

/** One write a txn may make: a put (with what the owned copy needs) or a delete of a key or range. */
export interface TxnWrite {
  readonly kind: "put" | "delete";
  readonly key: Uint8Array;
  /** The range end of a delete of a range (the wire's `range_end`; `[0]`: every key from `key` on). */
  readonly end: Uint8Array | undefined;
  readonly value: Uint8Array;
  /** Options of a put that make its new value unknown here or attach a lease. */
  readonly lease: bigint;
  readonly ignoreValue: boolean;
  readonly ignoreLease: boolean;
}

/** Every key of an op of `request` (both branches, nested txns included), for the prefix check. */
export function txnOpKeys(request: TxnRequestInit): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (const o of [...(request.success ?? []), ...(request.failure ?? [])]) {
    const r = o.request;
    if (r?.case === "requestTxn") out.push(...txnOpKeys(r.value));
    else if (r?.case) out.push((r.value.key as Uint8Array | undefined) ?? new Uint8Array());
  }
  return out;
}

/** Every write `request` may make, in either branch, nested txns included (Go's `gatherOps`). */
export function txnWrites(request: TxnRequestInit): TxnWrite[] {
  const out: TxnWrite[] = [];
  for (const o of [...(request.success ?? []), ...(request.failure ?? [])]) collectWrite(o, out);
  return out;
}

/**
 * The writes that ran, given the txn's result (Go's `gatherResponseOps`): the branch each (nested) txn
 * took, in order.
 */
export function ranWrites(request: TxnRequestInit, result: AnyTxnResult): TxnWrite[] {
  const out: TxnWrite[] = [];
  const ops = (result.succeeded ? request.success : request.failure) ?? [];
  ops.forEach((o, i) => {
    const r = o.request;
    if (r?.case === "requestTxn") out.push(...ranWrites(r.value, result.results[i] as AnyTxnResult));
    else collectWrite(o, out);
  });
  return out;
}

function collectWrite(o: RequestOpInit, out: TxnWrite[]): void {
  const r = o.request;
  if (r?.case === "requestTxn") {
    out.push(...txnWrites(r.value));
    return;
  }
  const empty = new Uint8Array();
  if (r?.case === "requestPut") {
    const v = r.value;
    out.push({
      kind: "put",
      key: (v.key as Uint8Array | undefined) ?? empty,
      end: undefined,
      value: (v.value as Uint8Array | undefined) ?? empty,
      lease: BigInt(v.lease ?? 0n),
      ignoreValue: v.ignoreValue ?? false,
      ignoreLease: v.ignoreLease ?? false,
    });
  } else if (r?.case === "requestDeleteRange") {
    const v = r.value;
    const end = v.rangeEnd as Uint8Array | undefined;
    out.push({
      kind: "delete",
      key: (v.key as Uint8Array | undefined) ?? empty,
      end: end && end.length > 0 ? end : undefined,
      value: empty,
      lease: 0n,
      ignoreValue: false,
      ignoreLease: false,
    });
  }
}
