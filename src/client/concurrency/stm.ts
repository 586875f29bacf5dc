import { Code } from "@connectrpc/connect";
import { EtcdError, InvalidArgumentError } from "../core/errors.js";
import { checkInteger, checkOptionsObject, checkSignal, shownInput } from "../core/validation.js";
import type { RangeResult } from "../kv/types.js";
import { checkPort, type EtcdPort } from "../port.js";
import { type Comparison, compare } from "../txn/compare.js";
import { op } from "../txn/ops.js";
import type { TxnOp } from "../txn/txn.js";

/**
 * Isolation levels of Go's `concurrency.NewSTM`:
 * - `serializableSnapshot` (default): reads at the revision of the first read; the commit fails when a
 *   key read was changed, or a key written was changed after that first read.
 * - `serializable`: reads at the revision of the first read; the commit fails when a key read changed.
 * - `repeatableReads`: each key is read once per attempt (at whatever revision); the commit fails when
 *   a key read changed.
 * - `readCommitted`: reads whatever is committed; the commit never fails (no conflict check).
 */
export type Isolation = "serializableSnapshot" | "serializable" | "repeatableReads" | "readCommitted";

const ISOLATIONS: readonly Isolation[] = [
  "serializableSnapshot",
  "serializable",
  "repeatableReads",
  "readCommitted",
];

/** Options of {@link runStm}. */
export interface StmOptions {
  /** Isolation level. Default `"serializableSnapshot"`. */
  isolation?: Isolation | undefined;
  /** Keys read in one round trip before `apply` runs. Default none. */
  prefetch?: string[] | undefined;
  /** Aborts the reads and commits (and so the retries). */
  signal?: AbortSignal | undefined;
  /** Attempts before giving up with `StmConflictError`, an integer >= 1. Default: no limit (as Go). */
  maxAttempts?: number | undefined;
}

/** What `apply` sees: reads go to etcd (or the read set), writes are buffered until the commit. */
export interface Stm {
  /** Value of the first of `keys` that is set in this attempt (written or read), else reads them all; `""` when missing. */
  get(...keys: string[]): Promise<string>;
  /** Mod revision of `key` as read in this attempt; `0n` when missing. */
  rev(key: string): Promise<bigint>;
  /** Buffers a put. */
  put(key: string, value: string, options?: { lease?: bigint | undefined }): void;
  /** Buffers a delete. */
  del(key: string): void;
}

/** Result of {@link runStm}. */
export interface StmResult<T> {
  /** Store revision of the commit. */
  revision: bigint;
  /** What the successful `apply` returned. */
  value: T;
  /** Attempts made (1 when no conflict). */
  attempts: number;
}

/** `maxAttempts` attempts all conflicted. */
export class StmConflictError extends EtcdError {
  override name = "StmConflictError";
  constructor(attempts: number) {
    super(`stm: ${attempts} attempts conflicted`, { code: Code.Aborted });
  }
}

/**
 * Runs `apply` as a software transactional memory transaction (Go's `concurrency.NewSTM`): it reads
 * through the STM, buffers writes, and commits them in one txn guarded by the isolation level's
 * conflict checks; on conflict it runs `apply` again from scratch. An error thrown by `apply` or a
 * failed call ends it without a commit.
 */
export async function runStm<T>(
  etcd: EtcdPort,
  apply: (stm: Stm) => Promise<T> | T,
  options: StmOptions = {},
): Promise<StmResult<T>> {
  checkStmArguments(etcd, apply, options);
  const stm = new StmAttempt(etcd, options.isolation ?? "serializableSnapshot", options.signal);
  const maxAttempts = options.maxAttempts ?? Number.POSITIVE_INFINITY;
  for (let attempts = 1; ; attempts++) {
    stm.reset();
    if (options.prefetch?.length) await stm.get(...options.prefetch);
    const value = await apply(stm);
    const revision = await stm.commit();
    if (revision !== undefined) return { revision, value, attempts };
    if (attempts >= maxAttempts) throw new StmConflictError(attempts);
  }
}

/**
 * Refuses what a JavaScript caller may pass wrong, before anything is sent: a misspelt isolation level
 * would otherwise run as `repeatableReads` (not the level asked for), and a `maxAttempts` of `NaN` would
 * never give up.
 */
function checkStmArguments(etcd: EtcdPort, apply: unknown, options: StmOptions): void {
  checkPort(etcd, "etcd");
  if (typeof apply !== "function")
    throw new InvalidArgumentError("apply", `must be a function (stm) => ..., got ${shownInput(apply)}`);
  checkOptionsObject(options);
  if (options.isolation !== undefined && !ISOLATIONS.includes(options.isolation))
    throw new InvalidArgumentError(
      "isolation",
      `must be one of ${ISOLATIONS.map((i) => `"${i}"`).join(", ")}, got ${shownInput(options.isolation)}`,
    );
  if (options.maxAttempts !== undefined) checkInteger(options.maxAttempts, "maxAttempts", 1);
  if (options.prefetch !== undefined && !Array.isArray(options.prefetch))
    throw new InvalidArgumentError(
      "prefetch",
      `must be an array of keys, got ${shownInput(options.prefetch)}`,
    );
  checkSignal(options.signal);
}

type Write = { value: string; op: TxnOp };

class StmAttempt implements Stm {
  readonly #etcd: EtcdPort;
  readonly #isolation: Isolation;
  readonly #signal: AbortSignal | undefined;
  #rset = new Map<string, RangeResult>();
  #wset = new Map<string, Write>();
  // Serializable levels: answers of the failed commit's else branch, used by the next attempt.
  #prefetched = new Map<string, RangeResult>();
  #readRevision: bigint | undefined;

  constructor(etcd: EtcdPort, isolation: Isolation, signal: AbortSignal | undefined) {
    this.#etcd = etcd;
    this.#isolation = isolation;
    this.#signal = signal;
  }

  get #snapshot(): boolean {
    return this.#isolation === "serializableSnapshot" || this.#isolation === "serializable";
  }

  reset(): void {
    this.#rset = new Map();
    this.#wset = new Map();
    this.#readRevision = undefined;
  }

  async get(...keys: string[]): Promise<string> {
    for (const k of keys) {
      const w = this.#wset.get(k);
      if (w) return w.value;
    }
    const first = this.#rset.size === 0;
    if (this.#snapshot)
      for (const k of keys) {
        const p = this.#prefetched.get(k);
        if (p) {
          this.#prefetched.delete(k);
          this.#rset.set(k, p);
        }
      }
    const res = await this.#fetch(keys);
    // The attempt's snapshot is the revision of its first read.
    if (this.#snapshot && first && res) this.#readRevision = res.revision;
    return res?.kvs[0]?.text() ?? "";
  }

  async rev(key: string): Promise<bigint> {
    if (this.#snapshot) await this.get(key);
    const res = await this.#fetch([key]);
    return res?.kvs[0]?.modRevision ?? 0n;
  }

  put(key: string, value: string, options: { lease?: bigint | undefined } = {}): void {
    this.#wset.set(key, { value, op: op.put(key, value, { lease: options.lease }) });
  }

  del(key: string): void {
    this.#wset.set(key, { value: "", op: op.delete(key) });
  }

  /** The commit's revision, or `undefined` on conflict. */
  async commit(): Promise<bigint | undefined> {
    const puts = [...this.#wset.values()].map((w) => w.op);
    const keys = [...this.#rset.keys()];
    const txn = this.#etcd
      .txn()
      .if(...this.#conflicts())
      .onSuccess(...puts)
      // Serializable levels read the keys back on conflict: the next attempt starts from them.
      .onFailure(...(this.#snapshot ? keys.map((k) => op.get(k)) : []));
    const res = await txn.commit({ signal: this.#signal });
    if (res.succeeded) return res.revision;
    if (this.#snapshot) {
      const results = res.results as RangeResult[];
      this.#prefetched = new Map(keys.map((k, i) => [k, results[i]!]));
    }
    return undefined;
  }

  #conflicts(): Comparison[] {
    if (this.#isolation === "readCommitted") return [];
    const reads = [...this.#rset].map(([k, r]) => compare.modRevision(k, "=", r.kvs[0]?.modRevision ?? 0n));
    if (this.#isolation !== "serializableSnapshot") return reads;
    let first = BigInt(Number.MAX_SAFE_INTEGER) ** 2n;
    for (const r of this.#rset.values()) if (r.revision < first) first = r.revision;
    const writes = [...this.#wset.keys()].map((k) => compare.modRevision(k, "<", first + 1n));
    return [...reads, ...writes];
  }

  async #fetch(keys: string[]): Promise<RangeResult | undefined> {
    if (keys.length === 0) return undefined;
    for (const k of keys) {
      const r = this.#rset.get(k);
      if (r) return r;
    }
    const readOptions =
      this.#isolation === "serializableSnapshot" || this.#isolation === "serializable"
        ? this.#readRevision === undefined
          ? {}
          : { revision: this.#readRevision, serializable: true }
        : { serializable: true };
    const res = await this.#etcd
      .txn()
      .onSuccess(...keys.map((k) => op.get(k, readOptions)))
      .commit({ signal: this.#signal });
    const results = res.results as RangeResult[];
    for (const [i, k] of keys.entries()) this.#rset.set(k, results[i]!);
    return results[0];
  }
}
