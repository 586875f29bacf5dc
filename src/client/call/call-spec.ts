import type { DescMethod } from "@bufbuild/protobuf";
import type { TargetedCallOptions } from "../call-options.js";

/**
 * What one call is, for the call pipeline (caller, endpoint channel): the RPC and the caller's
 * options. Everything else follows from these or is the client's: the retry kind from
 * {@link RETRY_TABLE} by method (see `retryKindOfCall`), the deadline from `options.timeoutMs` or the
 * client's `timeoutMs`, `hasleader` from the client's `requireLeader` unless the spec says otherwise ({@link CallSpec.hasleader}).
 */
export interface CallSpec<M extends DescMethod = DescMethod> {
  /** The RPC. */
  readonly method: M;
  /** The caller's options: `signal`, `timeoutMs` (the deadline), `metadata`, `endpoint`. Checked when the call starts. */
  readonly options?: TargetedCallOptions | undefined;
  /**
   * Whether to send `hasleader` (a member cut off from its leader then refuses at once with "no leader").
   * Default: the client's `requireLeader`. Set only where the method decides: `false` for calls a member
   * answers on its own (a serializable read, its Status, Hash, HashKV, Defragment, Snapshot, a plain
   * member list), `true` where only a leader can answer (a linearizable member list, MoveLeader).
   */
  readonly hasleader?: boolean | undefined;
  /**
   * Told each time the request is handed to the transport, after any authentication (and again for a
   * retry), for callers that must know when the server can have started on it: a lease grant's first
   * deadline counts from the last send, not from the call (a login or a backoff before it is no lease time).
   */
  readonly onSend?: (() => void) | undefined;
}
