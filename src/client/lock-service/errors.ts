import { Code } from "@connectrpc/connect";
import { EtcdError } from "../core/errors.js";

/**
 * `proclaim` or a leader-only call on an election this client does not lead (Go's `ErrElectionNotLeader`):
 * the `Election` recipe's, or `etcd.electionService.proclaim()` with a leadership whose key is gone.
 * Not to be confused with `NoLeaderError`: an etcd member without a raft leader.
 */
export class ElectionNotLeaderError extends EtcdError {
  override name = "ElectionNotLeaderError";
  constructor(options: { cause?: unknown } = {}) {
    super("election: not leader", { code: Code.FailedPrecondition, cause: options.cause });
  }
}
