import { InvalidArgumentError } from "../core/errors.js";
import { DEFAULT_MAX_REQUEST_BYTES, shownInput } from "../core/validation.js";
import type { Bytes } from "../kv/bytes.js";
import { deleteRequest, putRequest, rangeRequest } from "../kv/requests.js";
import type { DeleteOptions, KeyRange, PutOptions, RangeOptions } from "../kv/types.js";
import { type DeleteOp, type GetOp, made, type NestedTxnOp, type PutOp, Txn, type TxnOp } from "./txn.js";

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
