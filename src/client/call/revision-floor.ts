import type { DescMethod } from "@bufbuild/protobuf";
import { KV } from "../../gen/etcdserverpb/rpc_pb.js";
import { StaleReadError } from "../core/errors.js";
import type { RetryKind } from "./retry.js";

/** What the floor reads of a KV answer: its header's store revision. */
interface HeaderedAnswer {
  readonly header?: { readonly revision: bigint } | undefined;
}

/**
 * Checks one answer of a call (see {@link RevisionFloor.checkFor}) and returns it; throws
 * {@link StaleReadError} when a read's answer is older than the revision seen when the call started.
 */
export type AnswerCheck = <T>(answer: T, endpoint: string) => T;

/**
 * The client's `monotonicReads` (etcd's Go `client/v3/ordering`, done once in the call pipeline rather
 * than in each KV method): the newest store revision any KV answer to this client carried (a Range, Put,
 * DeleteRange or Txn header; namespace views share their parent's floor), and the check that refuses a
 * read answered below it. A refused answer is a {@link StaleReadError}, code UNAVAILABLE, so the caller's
 * one retry loop marks the member failed and asks the next one, as Go's `NewOrderViolationSwitchEndpointClosure`
 * does (which leaves the picker alone; marking the member is what its TODO asks for).
 */
export class RevisionFloor {
  #seen = 0n;

  /** The newest store revision a KV answer carried so far (0 before the first). */
  get seen(): bigint {
    return this.#seen;
  }

  /**
   * The check for the answers of one call of `method` (of retry kind `kind`), or undefined for a call
   * the floor ignores (anything but KV Range, Put, DeleteRange and Txn). Reads (Range, a Txn that only
   * reads) are held to the revision seen now, when the call starts: a newer one that a concurrent call
   * brings meanwhile does not count against this read, which may be ordered before it. Writes are only
   * recorded: a member answers a write after applying it, past everything committed before it.
   */
  checkFor(method: DescMethod, kind: RetryKind): AnswerCheck | undefined {
    let read: boolean;
    if (method === KV.method.range) read = true;
    else if (method === KV.method.txn) read = kind === "idempotent";
    else if (method === KV.method.put || method === KV.method.deleteRange) read = false;
    else return undefined;
    const since = read ? this.#seen : 0n;
    return <T>(answer: T, endpoint: string): T => {
      const revision = (answer as HeaderedAnswer).header?.revision ?? 0n;
      if (revision < since) throw new StaleReadError(revision, since, endpoint);
      if (revision > this.#seen) this.#seen = revision;
      return answer;
    };
  }
}
