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
