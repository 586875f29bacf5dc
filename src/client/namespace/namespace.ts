import type { MessageInitShape } from "@bufbuild/protobuf";
import type {
  CompareSchema,
  DeleteRangeResponse,
  PutResponse,
  RangeResponse,
  TxnResponse,
} from "../../gen/etcdserverpb/rpc_pb.js";
import type { Event } from "../../gen/mvccpb/kv_pb.js";
import { InvalidArgumentError } from "../core/errors.js";
import { type Bytes, toBytes } from "../kv/bytes.js";
import { prefixRangeEnd } from "../kv/range-end.js";
import { rangeBounds } from "../kv/requests.js";
import type { KeyRange } from "../kv/types.js";
import type { RequestOpInit, TxnRequestInit } from "../txn/txn.js";

type CompareInit = MessageInitShape<typeof CompareSchema>;

/** What range-shaped requests (range, delete, compare) carry. */
interface Bounds {
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

const EMPTY = new Uint8Array(0);

/** `a` then `b`, in a new array. */
function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.length + b.length);
  out.set(a);
  out.set(b, a.length);
  return out;
}

/**
 * Go's `namespace.prefixInterval`: the wire bounds of `[key, end)` inside the namespace `prefix`. The key
 * gets the prefix; so does a range end, except etcd's `"\0"` ("to the end of the keyspace"), which
 * becomes the end of the namespace (the prefix's own range end), so a `fromKey` range never leaves it.
 * An empty end (one key) stays empty.
 */
export function prefixInterval(
  prefix: Uint8Array,
  key: Uint8Array,
  end: Uint8Array,
): { key: Uint8Array; rangeEnd: Uint8Array } {
  const pfxKey = concat(prefix, key);
  if (end.length === 1 && end[0] === 0) return { key: pfxKey, rangeEnd: prefixRangeEnd(prefix) };
  return { key: pfxKey, rangeEnd: end.length > 0 ? concat(prefix, end) : EMPTY };
}

/**
 * A key prefix applied to everything a client view sends and stripped from everything it receives, with
 * the semantics of etcd's Go `client/v3/namespace` (see docs/client.md, "Namespaces"). Requests are
 * copied, never changed (ops and comparisons may be shared between txns); responses are fresh messages
 * of this call and are stripped in place, as Go does.
 */
export class Namespace implements Keyspace {
  /** The prefix, as raw bytes (a namespace of a namespace has both prefixes, outer first). */
  readonly prefix: Uint8Array;

  private constructor(prefix: Uint8Array) {
    this.prefix = prefix;
  }

  /**
   * Validates `prefix` (a non-empty string or Uint8Array, else `InvalidArgumentError` naming `prefix`)
   * and makes the namespace of it inside `parent`: keys then carry both prefixes, as Go's wrappers of
   * wrappers write them.
   */
  static of(prefix: Bytes, parent?: Namespace): Namespace {
    const own = toBytes(prefix, "prefix");
    if (own.length === 0) throw new InvalidArgumentError("prefix", "must not be empty");
    // A copy: the caller's Uint8Array may change later.
    return new Namespace(concat(parent?.prefix ?? EMPTY, own));
  }

  /** {@link Keyspace}: this namespace. */
  get namespace(): Namespace {
    return this;
  }

  /** A range, delete or compare request with its key and range end inside the namespace (a copy). */
  prefixBounds<T extends Bounds>(request: T): T {
    return { ...request, ...prefixInterval(this.prefix, request.key ?? EMPTY, request.rangeEnd ?? EMPTY) };
  }

  /** A put request with its key inside the namespace (a copy). */
  prefixPut<T extends { key?: Uint8Array }>(request: T): T {
    return { ...request, key: concat(this.prefix, request.key ?? EMPTY) };
  }

  /** A txn request with every comparison and op inside the namespace, nested txns included (a copy). */
  prefixTxn(request: TxnRequestInit): TxnRequestInit {
    // A new message of the three fields a TxnRequest has (the one given may be a message: no spread).
    return {
      compare: (request.compare ?? []).map((c) => this.#prefixCompare(c)),
      success: (request.success ?? []).map((o) => this.#prefixOp(o)),
      failure: (request.failure ?? []).map((o) => this.#prefixOp(o)),
    };
  }

  /**
   * The wire bounds of a watch. Unlike a read, Go's namespace watcher prefixes the key as the caller spelled
   * it, before `WithPrefix`/`WithFromKey` turn an empty key into `"\0"`: a watch of `{ prefix: "" }` or
   * `{ fromKey: "" }` starts at the namespace's own key (the raw key equal to the prefix, delivered with an
   * empty key), where a read of the same range starts just after it.
   */
  watchBounds(range: Bytes | KeyRange): { key: Uint8Array; rangeEnd: Uint8Array } {
    const { key, rangeEnd } = rangeBounds(range);
    return prefixInterval(this.prefix, startsEmpty(range) ? EMPTY : key, rangeEnd);
  }

  /** Strips the prefix from every key of `kvs` (in place). */
  unprefixKeyValues(kvs: readonly { key: Uint8Array }[]): void {
    const n = this.prefix.length;
    for (const kv of kvs) kv.key = kv.key.subarray(n);
  }

  /** Strips the prefix from a range response's keys (in place); returns it. */
  unprefixRange(response: RangeResponse): RangeResponse {
    this.unprefixKeyValues(response.kvs);
    return response;
  }

  /** Strips the prefix from a put response's previous key-value (in place); returns it. */
  unprefixPut(response: PutResponse): PutResponse {
    if (response.prevKv) this.unprefixKeyValues([response.prevKv]);
    return response;
  }

  /** Strips the prefix from a delete response's previous key-values (in place); returns it. */
  unprefixDelete(response: DeleteRangeResponse): DeleteRangeResponse {
    this.unprefixKeyValues(response.prevKvs);
    return response;
  }

  /** Strips the prefix from every op response of a txn, nested txns included (in place); returns it. */
  unprefixTxn(response: TxnResponse): TxnResponse {
    for (const r of response.responses) {
      const op = r.response;
      if (op.case === "responseRange") this.unprefixRange(op.value);
      else if (op.case === "responsePut") this.unprefixPut(op.value);
      else if (op.case === "responseDeleteRange") this.unprefixDelete(op.value);
      else if (op.case === "responseTxn") this.unprefixTxn(op.value);
    }
    return response;
  }

  /** A range stream's chunks with the prefix stripped from their keys. */
  async *unprefixChunks(
    chunks: AsyncIterable<RangeResponse>,
  ): AsyncGenerator<RangeResponse, void, undefined> {
    for await (const chunk of chunks) yield this.unprefixRange(chunk);
  }

  /** Strips the prefix from watch events' keys and previous keys (in place), as Go's namespace watcher. */
  unprefixEvents(events: readonly Event[]): void {
    const n = this.prefix.length;
    for (const e of events) {
      if (!e.kv) continue;
      e.kv.key = e.kv.key.subarray(n);
      // Go sets the previous key to the event's key: the same key, by definition.
      if (e.prevKv) e.prevKv.key = e.kv.key;
    }
  }

  /** A lease's keys inside the namespace, stripped (Go's namespace `TimeToLive`): the others are dropped. */
  leaseKeys(keys: readonly Uint8Array[]): Uint8Array[] {
    const out: Uint8Array[] = [];
    for (const key of keys) if (this.contains(key)) out.push(key.subarray(this.prefix.length));
    return out;
  }

  /** True when the raw key `key` starts with the prefix. */
  contains(key: Uint8Array): boolean {
    const p = this.prefix;
    if (key.length < p.length) return false;
    for (let i = 0; i < p.length; i++) if (key[i] !== p[i]) return false;
    return true;
  }

  #prefixCompare(compare: CompareInit): CompareInit {
    // Go leaves an empty range end empty (one key), as prefixInterval does.
    return this.prefixBounds(compare);
  }

  #prefixOp(op: RequestOpInit): RequestOpInit {
    // A new RequestOp (its one field is the request), so a message given is not changed.
    const request = op.request;
    switch (request?.case) {
      case "requestRange":
        return { request: { case: request.case, value: this.prefixBounds(request.value) } };
      case "requestDeleteRange":
        return { request: { case: request.case, value: this.prefixBounds(request.value) } };
      case "requestPut":
        return { request: { case: request.case, value: this.prefixPut(request.value) } };
      case "requestTxn":
        return { request: { case: request.case, value: this.prefixTxn(request.value) } };
      default:
        return op;
    }
  }
}

/** True for `{ prefix: "" }` and `{ fromKey: "" }` (already validated by `rangeBounds`). */
function startsEmpty(range: Bytes | KeyRange): boolean {
  if (typeof range === "string" || range instanceof Uint8Array) return false;
  if ("prefix" in range) return range.prefix.length === 0;
  return "fromKey" in range && range.fromKey.length === 0;
}
