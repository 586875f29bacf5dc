import {
  type DeleteRangeRequest,
  type DeleteRangeResponse,
  type PutRequest,
  type PutResponse,
  type RangeRequest,
  RangeRequest_SortOrder,
  RangeRequest_SortTarget,
  type RangeResponse,
} from "../../gen/etcdserverpb/rpc_pb.js";
import { InvalidArgumentError } from "../core/errors.js";
import {
  checkInteger,
  checkKey,
  checkOptionsObject,
  checkRequestSize,
  shownInput,
} from "../core/validation.js";
import { type Bytes, describe, toBytes } from "./bytes.js";
import { KeyValue, wrapAll } from "./key-value.js";
import { FROM_KEY_END, prefixRangeEnd } from "./range-end.js";
import type {
  DeleteOptions,
  DeleteResult,
  KeyRange,
  PutOptions,
  PutResult,
  RangeOptions,
  RangeResult,
  SortTarget,
} from "./types.js";

/** A message's fields, all optional: what `create()` and the transports accept as input. */
type Init<M> = Partial<Omit<M, "$typeName" | "$unknown">>;
export type RangeRequestInit = Init<RangeRequest>;
export type PutRequestInit = Init<PutRequest>;
export type DeleteRequestInit = Init<DeleteRangeRequest>;

const EMPTY = new Uint8Array(0);

/** The `key` / `range_end` pair of a key or range, validated. */
export function rangeBounds(range: Bytes | KeyRange): { key: Uint8Array; rangeEnd: Uint8Array } {
  if (typeof range === "string" || range instanceof Uint8Array)
    return { key: checkKey(toBytes(range)), rangeEnd: EMPTY };
  if (range === null || typeof range !== "object")
    throw new InvalidArgumentError(
      "key",
      `must be a string, a Uint8Array or a range ({ prefix }, { fromKey }, { key, end }), got ${describe(range)}`,
    );
  if ("prefix" in range) {
    const prefix = toBytes(range.prefix, "prefix");
    // The empty prefix is every key: etcd spells that ["\0", "\0").
    return prefix.length === 0
      ? { key: FROM_KEY_END, rangeEnd: FROM_KEY_END }
      : { key: prefix, rangeEnd: prefixRangeEnd(prefix) };
  }
  if ("fromKey" in range) {
    const from = toBytes(range.fromKey, "fromKey");
    return { key: from.length === 0 ? FROM_KEY_END : from, rangeEnd: FROM_KEY_END };
  }
  if ("key" in range) {
    const key = checkKey(toBytes(range.key));
    if (range.end === undefined) return { key, rangeEnd: EMPTY };
    return { key, rangeEnd: checkKey(toBytes(range.end, "end"), "end") };
  }
  throw new InvalidArgumentError("key", "a range needs key, prefix or fromKey");
}

const SORT_TARGETS: Readonly<Record<SortTarget, RangeRequest_SortTarget>> = {
  key: RangeRequest_SortTarget.KEY,
  version: RangeRequest_SortTarget.VERSION,
  create: RangeRequest_SortTarget.CREATE,
  mod: RangeRequest_SortTarget.MOD,
  value: RangeRequest_SortTarget.VALUE,
};

function optionalRevision(value: number | bigint | undefined, field: string): bigint | undefined {
  return value === undefined ? undefined : checkInteger(value, field);
}

/** Builds a RangeRequest from a key or range and options, validating every field. */
export function rangeRequest(range: Bytes | KeyRange, options: RangeOptions = {}): RangeRequestInit {
  const req: RangeRequestInit = rangeBounds(range);
  checkOptionsObject(options);
  if (options.limit !== undefined) req.limit = checkInteger(options.limit, "limit");
  if (options.revision !== undefined) req.revision = checkInteger(options.revision, "revision");
  if (options.sort !== undefined) {
    checkOptionsObject(options.sort, "sort");
    const target = options.sort.target ?? "key";
    if (!Object.hasOwn(SORT_TARGETS, target))
      throw new InvalidArgumentError(
        "sort.target",
        `must be one of ${Object.keys(SORT_TARGETS).join(", ")}, got ${shownInput(target)}`,
      );
    req.sortTarget = SORT_TARGETS[target];
    const order = options.sort.order ?? "ascend";
    if (order !== "ascend" && order !== "descend")
      throw new InvalidArgumentError("sort.order", `must be "ascend" or "descend", got ${String(order)}`);
    req.sortOrder = order === "ascend" ? RangeRequest_SortOrder.ASCEND : RangeRequest_SortOrder.DESCEND;
  }
  if (options.serializable) req.serializable = true;
  if (options.countOnly) req.countOnly = true;
  if (options.keysOnly) req.keysOnly = true;
  req.minModRevision = optionalRevision(options.minModRevision, "minModRevision");
  req.maxModRevision = optionalRevision(options.maxModRevision, "maxModRevision");
  req.minCreateRevision = optionalRevision(options.minCreateRevision, "minCreateRevision");
  req.maxCreateRevision = optionalRevision(options.maxCreateRevision, "maxCreateRevision");
  return req;
}

/** Builds a PutRequest, validating key, value size and lease. */
export function putRequest(
  key: Bytes,
  value: Bytes,
  options: PutOptions,
  maxRequestBytes: number,
): PutRequestInit {
  const k = checkKey(toBytes(key));
  if (value === undefined || value === null) throw new InvalidArgumentError("value", "is required");
  const v = toBytes(value, "value");
  checkRequestSize(k, v, maxRequestBytes);
  const req: PutRequestInit = { key: k, value: v };
  if (options.lease !== undefined) req.lease = checkInteger(options.lease, "lease");
  if (options.prevKv) req.prevKv = true;
  if (options.ignoreValue) {
    if (v.length > 0) throw new InvalidArgumentError("value", "must be empty when ignoreValue is set");
    req.ignoreValue = true;
  }
  if (options.ignoreLease) {
    if (options.lease !== undefined)
      throw new InvalidArgumentError("lease", "must be unset when ignoreLease is set");
    req.ignoreLease = true;
  }
  return req;
}

/** Builds a DeleteRangeRequest. */
export function deleteRequest(range: Bytes | KeyRange, options: DeleteOptions = {}): DeleteRequestInit {
  const req: DeleteRequestInit = rangeBounds(range);
  checkOptionsObject(options);
  if (options.prevKv) req.prevKv = true;
  return req;
}

/** Reads a RangeResponse. `fallbackRevision` serves responses inside a txn, which carry no header. */
export function rangeResult(res: RangeResponse, fallbackRevision = 0n): RangeResult {
  return {
    revision: res.header?.revision || fallbackRevision,
    kvs: wrapAll(res.kvs),
    count: res.count,
    more: res.more,
  };
}

/** Reads a PutResponse. */
export function putResult(res: PutResponse, fallbackRevision = 0n): PutResult {
  return {
    revision: res.header?.revision || fallbackRevision,
    prevKv: res.prevKv ? new KeyValue(res.prevKv) : undefined,
  };
}

/** Reads a DeleteRangeResponse. */
export function deleteResult(res: DeleteRangeResponse, fallbackRevision = 0n): DeleteResult {
  return {
    revision: res.header?.revision || fallbackRevision,
    deleted: res.deleted,
    prevKvs: wrapAll(res.prevKvs),
  };
}
