import type { MessageInitShape } from "@bufbuild/protobuf";
import type { RequestOpSchema } from "../../gen/etcdserverpb/rpc_pb.js";
import { InvalidArgumentError } from "../core/errors.js";
import { shownInput } from "../core/validation.js";
import type { Bytes } from "../kv/bytes.js";
import { deleteRequest, putRequest, rangeRequest } from "../kv/requests.js";
import type {
  DeleteOptions,
  DeleteResult,
  KeyRange,
  PutOptions,
  PutResult,
  RangeOptions,
  RangeResult,
} from "../kv/types.js";
import { DEFAULT_MAX_REQUEST_BYTES } from "../options.js";
import { Txn, type TxnResult } from "./txn.js";

/** A read inside a txn; its result is a {@link RangeResult}. */
export interface GetOp {
  readonly kind: "get";
  readonly message: MessageInitShape<typeof RequestOpSchema>;
}
/** A put inside a txn; its result is a {@link PutResult}. */
export interface PutOp {
  readonly kind: "put";
  readonly message: MessageInitShape<typeof RequestOpSchema>;
}
/** A delete inside a txn; its result is a {@link DeleteResult}. */
export interface DeleteOp {
  readonly kind: "delete";
  readonly message: MessageInitShape<typeof RequestOpSchema>;
}
/** A nested txn; its result is a {@link TxnResult} of its own branches. */
export interface NestedTxnOp<
  T extends readonly TxnOp[] = readonly TxnOp[],
  E extends readonly TxnOp[] = readonly TxnOp[],
> {
  readonly kind: "txn";
  readonly txn: Txn<T, E>;
}

/** Any operation a txn branch can hold. */
export type TxnOp = GetOp | PutOp | DeleteOp | NestedTxnOp;

/** The result type of one op. */
export type OpResult<O> = O extends GetOp
  ? RangeResult
  : O extends PutOp
    ? PutResult
    : O extends DeleteOp
      ? DeleteResult
      : O extends NestedTxnOp<infer T, infer E>
        ? TxnResult<T, E>
        : never;

/** The results of a branch, one per op, in order and typed per op. */
export type OpResults<T extends readonly TxnOp[]> = { -readonly [K in keyof T]: OpResult<T[K]> };

/** The ops made by {@link op}: what `onSuccess()` and `onFailure()` accept. */
const MADE = new WeakSet<TxnOp>();

function made<O extends TxnOp>(o: O): O {
  MADE.add(o);
  return o;
}

/**
 * Checks the ops given to a branch: each must come from {@link op} (a JavaScript caller's `{}`, string
 * or `undefined` would otherwise reach etcd as an empty op, or fail deep inside as a `TypeError`).
 * Throws `InvalidArgumentError` naming `field` (`onSuccess` / `onFailure`) and the op's position.
 */
export function checkOps(ops: readonly unknown[], field: string): void {
  ops.forEach((o, i) => {
    if (typeof o !== "object" || o === null || !MADE.has(o as TxnOp))
      throw new InvalidArgumentError(
        field,
        `op ${i + 1} must be made by op.get, op.put, op.delete or op.txn, got ${shownInput(o)}`,
      );
  });
}

/** Operations for txn branches (`onSuccess` / `onFailure`). */
export const op = {
  /** Reads a key or range. */
  get(range: Bytes | KeyRange, options?: RangeOptions): GetOp {
    return made({
      kind: "get",
      message: { request: { case: "requestRange", value: rangeRequest(range, options) } },
    });
  },
  /**
   * Writes a key. Values are checked against the default request limit (1.5 MiB); the whole txn is
   * checked by the server.
   */
  put(key: Bytes, value: Bytes, options: PutOptions = {}): PutOp {
    const value_ = putRequest(key, value, options, DEFAULT_MAX_REQUEST_BYTES);
    return made({ kind: "put", message: { request: { case: "requestPut", value: value_ } } });
  },
  /** Deletes a key or range. */
  delete(range: Bytes | KeyRange, options?: DeleteOptions): DeleteOp {
    return made({
      kind: "delete",
      message: { request: { case: "requestDeleteRange", value: deleteRequest(range, options) } },
    });
  },
  /** Nests a txn built with `txn()` (not committed on its own). */
  txn<T extends readonly TxnOp[], E extends readonly TxnOp[]>(nested: Txn<T, E>): NestedTxnOp<T, E> {
    if (!(nested instanceof Txn))
      throw new InvalidArgumentError(
        "txn",
        `must be made by txn() (from etcd-ts), got ${shownInput(nested)}`,
      );
    return made({ kind: "txn", txn: nested });
  },
} as const;
