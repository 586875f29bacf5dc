import type { CallOptions } from "../call-options.js";
import type { Bytes } from "./bytes.js";
import type { KeyValue } from "./key-value.js";

/**
 * Which keys a call covers: one key, `[key, end)`, every key with a prefix (the empty prefix means all
 * keys), or every key from `fromKey` on.
 */
export type KeyRange = { key: Bytes; end?: Bytes } | { prefix: Bytes } | { fromKey: Bytes };

/** What to sort range results by. */
export type SortTarget = "key" | "version" | "create" | "mod" | "value";

/** Options of a range read. */
export interface RangeOptions {
  /** Most keys returned; 0 = no limit. Default 0. */
  limit?: number | bigint | undefined;
  /** Read at this revision; 0 = the latest. Default 0. */
  revision?: number | bigint | undefined;
  /** Sort order of results. Default: by key, ascending. */
  sort?: { target?: SortTarget; order?: "ascend" | "descend" } | undefined;
  /**
   * Answer from the local member without a quorum round (may be stale; works without a leader).
   * Default false (linearizable).
   */
  serializable?: boolean | undefined;
  /** Return only the count, no keys. Default false. */
  countOnly?: boolean | undefined;
  /** Return keys without values. Default false. */
  keysOnly?: boolean | undefined;
  /** Only keys modified at or after this revision. Default none. */
  minModRevision?: number | bigint | undefined;
  /** Only keys modified at or before this revision. Default none. */
  maxModRevision?: number | bigint | undefined;
  /** Only keys created at or after this revision. Default none. */
  minCreateRevision?: number | bigint | undefined;
  /** Only keys created at or before this revision. Default none. */
  maxCreateRevision?: number | bigint | undefined;
}

/** Options of a put. */
export interface PutOptions {
  /** Attach the key to this lease. Default none (0). */
  lease?: number | bigint | undefined;
  /** Return the previous key-value. Default false. */
  prevKv?: boolean | undefined;
  /** Keep the current value (the value argument must then be empty); fails if the key is missing. */
  ignoreValue?: boolean | undefined;
  /** Keep the current lease; fails if the key is missing. Default false. */
  ignoreLease?: boolean | undefined;
}

/** Options of a delete. */
export interface DeleteOptions {
  /** Return the deleted key-values. Default false. */
  prevKv?: boolean | undefined;
}

/** Result of a range read. */
export interface RangeResult {
  /** Store revision the read saw. */
  revision: bigint;
  /** The key-values (empty for count-only reads). */
  kvs: KeyValue[];
  /** Number of keys in the range (ignores `limit`). */
  count: bigint;
  /** True when `limit` cut the result short. */
  more: boolean;
}

/** Result of a put. */
export interface PutResult {
  /** Store revision after the put. */
  revision: bigint;
  /** The previous key-value, when asked for with `prevKv` and there was one. */
  prevKv: KeyValue | undefined;
}

/** Result of a delete. */
export interface DeleteResult {
  /** Store revision after the delete. */
  revision: bigint;
  /** Number of keys deleted. */
  deleted: bigint;
  /** The deleted key-values, when asked for with `prevKv`. */
  prevKvs: KeyValue[];
}

/**
 * Options of `Etcd.iterate`. `timeoutMs` is the deadline of each request: of each page, and on a
 * RangeStream of its opening and of each chunk.
 */
export interface IterateOptions extends CallOptions {
  /**
   * Keys of the first request, and of every request when the server has no `RangeStream` (etcd < 3.7);
   * on 3.7+ the rest of the range comes as one stream whose chunks the server sizes. Default 1000.
   */
  pageSize?: number | undefined;
  /** Most keys in total. Default: all of the range. */
  limit?: number | bigint | undefined;
  /** Read at this revision; default: the revision of the first request. */
  revision?: number | bigint | undefined;
  /** Serve every page from the local member (no quorum round). Default false. */
  serializable?: boolean | undefined;
  /** Values are left out. Default false. */
  keysOnly?: boolean | undefined;
}
