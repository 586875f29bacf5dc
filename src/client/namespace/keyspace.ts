import type {
  DeleteRangeResponse,
  PutResponse,
  RangeResponse,
  TxnResponse,
} from "../../gen/etcdserverpb/rpc_pb.js";
import type { TxnRequestInit } from "../txn/txn.js";
import type { Namespace } from "./namespace.js";

/** What range-shaped requests (range, delete, compare) carry. */
export interface Bounds {
  key?: Uint8Array | undefined;
  rangeEnd?: Uint8Array | undefined;
}

/**
 * Where a client's keys live: the whole keyspace, or a {@link Namespace} of it (Go's `namespace.NewKV`).
 * A client sends every key-value request through `prefix*` and reads every answer through `unprefix*`,
 * the one place a view's keys are changed; it never asks which of the two it has.
 */
export interface Keyspace {
  /** The raw prefix of every key (empty for the whole keyspace). Do not change it. */
  readonly prefix: Uint8Array;
  /** The namespace, for what keeps it to strip later answers (a watch, a lease API); none for the whole keyspace. */
  readonly namespace: Namespace | undefined;
  /** A range or delete request with its bounds in this keyspace. */
  prefixBounds<T extends Bounds>(request: T): T;
  /** A put request with its key in this keyspace. */
  prefixPut<T extends { key?: Uint8Array }>(request: T): T;
  /** A txn request with every comparison and op in this keyspace. */
  prefixTxn(request: TxnRequestInit): TxnRequestInit;
  /** A range response with keys as this keyspace names them. */
  unprefixRange(response: RangeResponse): RangeResponse;
  /** A put response with its previous key as this keyspace names it. */
  unprefixPut(response: PutResponse): PutResponse;
  /** A delete response with its previous keys as this keyspace names them. */
  unprefixDelete(response: DeleteRangeResponse): DeleteRangeResponse;
  /** A txn response with every op's keys as this keyspace names them. */
  unprefixTxn(response: TxnResponse): TxnResponse;
  /** The chunks of a range stream with keys as this keyspace names them. */
  unprefixChunks(chunks: AsyncIterable<RangeResponse>): AsyncIterable<RangeResponse>;
}

function same<T>(value: T): T {
  return value;
}

/** The whole keyspace: requests and answers pass unchanged (the same objects, so a plain client pays nothing). */
export const WHOLE_KEYSPACE: Keyspace = Object.freeze({
  prefix: new Uint8Array(0),
  namespace: undefined,
  prefixBounds: same,
  prefixPut: same,
  prefixTxn: same,
  unprefixRange: same,
  unprefixPut: same,
  unprefixDelete: same,
  unprefixTxn: same,
  unprefixChunks: same,
});
