import type { MessageInitShape } from "@bufbuild/protobuf";
import { Code } from "@connectrpc/connect";
import type {
  RequestOpSchema,
  ResponseOp,
  TxnRequestSchema,
  TxnResponse,
} from "../../gen/etcdserverpb/rpc_pb.js";
import type { CallOptions } from "../call-options.js";
import { EtcdError, InvalidArgumentError } from "../core/errors.js";
import { shownInput } from "../core/validation.js";
import { deleteResult, putResult, rangeResult } from "../kv/requests.js";
import type { DeleteResult, PutResult, RangeResult } from "../kv/types.js";
import { type Comparison, checkComparisons } from "./compare.js";

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

/** Marks `o` as made by {@link op} (`ops.ts`): only such ops pass {@link checkOps}. */
export function made<O extends TxnOp>(o: O): O {
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

/** A TxnRequest's fields, as `create()` and the transports take them. */
export type TxnRequestInit = MessageInitShape<typeof TxnRequestSchema>;
/** A RequestOp's fields, as `create()` and the transports take them. */
export type RequestOpInit = MessageInitShape<typeof RequestOpSchema>;

/** What ran: the success branch's results when the guards held, else the failure branch's. */
export type TxnResult<T extends readonly TxnOp[], E extends readonly TxnOp[]> =
  | { revision: bigint; succeeded: true; results: OpResults<T> }
  | { revision: bigint; succeeded: false; results: OpResults<E> };

/** Runs an encoded txn; supplied by the client for txns made with `etcd.txn()`. */
export type TxnRunner = (
  request: TxnRequestInit,
  readOnly: boolean,
  options?: CallOptions,
) => Promise<TxnResponse>;

/**
 * A transaction: guards (`if`), then the ops to run when all hold (`onSuccess`) or not (`onFailure`),
 * named after the proto's `success` / `failure` fields. It is deliberately not thenable (no `then`
 * method): it runs when `commit()` is called, exactly once.
 */
export class Txn<T extends readonly TxnOp[] = [], E extends readonly TxnOp[] = []> {
  #compares: Comparison[] = [];
  #success: readonly TxnOp[] = [];
  #failure: readonly TxnOp[] = [];
  #committed = false;
  readonly #run: TxnRunner | undefined;

  /** `run` is set by the client; a txn without one can only be nested (`op.txn`). */
  constructor(run?: TxnRunner) {
    this.#run = run;
  }

  /**
   * Adds guards; all must hold for the success branch to run. Each must be made by `compare` (else
   * `InvalidArgumentError`, field `if`).
   */
  if(...comparisons: Comparison[]): this {
    this.#compares.push(...checkComparisons(comparisons, "if"));
    return this;
  }

  /** Sets the ops run when every guard holds. Each must be made by `op` (else `InvalidArgumentError`). */
  onSuccess<const N extends readonly TxnOp[]>(...ops: N): Txn<N, E> {
    checkOps(ops, "onSuccess");
    this.#success = ops;
    return this as unknown as Txn<N, E>;
  }

  /** Sets the ops run when a guard fails. Each must be made by `op` (else `InvalidArgumentError`). */
  onFailure<const N extends readonly TxnOp[]>(...ops: N): Txn<T, N> {
    checkOps(ops, "onFailure");
    this.#failure = ops;
    return this as unknown as Txn<T, N>;
  }

  /** True when no op (in any branch, nested txns included) writes. */
  isReadOnly(): boolean {
    const readOnly = (ops: readonly TxnOp[]): boolean =>
      ops.every((o) => o.kind === "get" || (o.kind === "txn" && o.txn.isReadOnly()));
    return readOnly(this.#success) && readOnly(this.#failure);
  }

  /** The wire form of this txn. */
  toRequest(): TxnRequestInit {
    return {
      compare: this.#compares.map((c) => c.message),
      success: this.#success.map(encodeOp),
      failure: this.#failure.map(encodeOp),
    };
  }

  /** Reads a response to this txn into typed results. */
  decode(res: TxnResponse, fallbackRevision = 0n): TxnResult<T, E> {
    const revision = res.header?.revision || fallbackRevision;
    const ops = res.succeeded ? this.#success : this.#failure;
    if (ops.length !== res.responses.length)
      throw new EtcdError(`txn answered ${res.responses.length} results for ${ops.length} ops`, {
        code: Code.Internal,
      });
    const results = ops.map((o, i) => decodeOp(o, res.responses[i]!, revision));
    return { revision, succeeded: res.succeeded, results } as TxnResult<T, E>;
  }

  /** Sends the txn. Runs it once: a second call throws. */
  async commit(options?: CallOptions): Promise<TxnResult<T, E>> {
    if (!this.#run)
      throw new InvalidArgumentError("txn", "was made with txn() for nesting; commit it via etcd.txn()");
    if (this.#committed) throw new InvalidArgumentError("txn", "was already committed; build a new one");
    this.#committed = true;
    const res = await this.#run(this.toRequest(), this.isReadOnly(), options);
    return this.decode(res);
  }
}

/** A txn to nest in another (`op.txn(txn().if(...).onSuccess(...))`); it has no `commit`. */
export function txn(): Txn {
  return new Txn();
}

function encodeOp(o: TxnOp): RequestOpInit {
  return o.kind === "txn" ? { request: { case: "requestTxn", value: o.txn.toRequest() } } : o.message;
}

function decodeOp(o: TxnOp, r: ResponseOp, revision: bigint): unknown {
  const response = r.response;
  switch (o.kind) {
    case "get":
      if (response.case === "responseRange") return rangeResult(response.value, revision);
      break;
    case "put":
      if (response.case === "responsePut") return putResult(response.value, revision);
      break;
    case "delete":
      if (response.case === "responseDeleteRange") return deleteResult(response.value, revision);
      break;
    case "txn":
      if (response.case === "responseTxn") return o.txn.decode(response.value, revision);
      break;
  }
  throw new EtcdError(`txn answered ${String(response.case)} for a ${o.kind} op`, { code: Code.Internal });
}
