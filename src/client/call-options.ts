/** Options every call takes. */
export interface CallOptions {
  /** Aborts the call (and its retries); it then fails with `AbortedError`. Default none. */
  signal?: AbortSignal;
  /**
   * Deadline of the call in ms, all retries and re-authentication included; on expiry it fails with
   * `DeadlineExceededError`. Default: the client's `timeoutMs` (10000).
   */
  timeoutMs?: number;
}

/** Options of calls that can be sent to one chosen member (admin calls). */
export interface TargetedCallOptions extends CallOptions {
  /**
   * Send the call to this client URL (e.g. one member's `http://127.0.0.1:2379`) and nowhere else: no
   * failover to other endpoints; retries allowed by the retry table go to the same endpoint. It need
   * not be in the client's endpoint list but must use its scheme. Default: the pinned endpoint, with
   * failover.
   */
  endpoint?: string;
}
