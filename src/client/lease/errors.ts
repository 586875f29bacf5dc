// rebased onto EtcdError at merge

/** Why a lease was declared lost. */
export type LeaseLostReason = "expired" | "deadline" | "revoked" | "closed";

/**
 * A lease this client kept alive is gone, or may be: the server answered TTL 0 (`expired`), or no refresh
 * succeeded before its deadline (`deadline`: the server may already have expired it).
 */
export class LeaseLostError extends Error {
  override name = "LeaseLostError";
  readonly code = "lease-lost";
  /** The lease ID. */
  readonly leaseId: bigint;
  /** Why it is considered lost. */
  readonly reason: LeaseLostReason;

  constructor(leaseId: bigint, reason: LeaseLostReason, options?: { cause?: unknown }) {
    super(
      reason === "expired"
        ? `lease ${leaseId} expired: the server answered TTL 0`
        : `lease ${leaseId} lost: no keepalive succeeded before its deadline`,
      options,
    );
    this.leaseId = leaseId;
    this.reason = reason;
  }
}

/** A call on a `Leases` or `Lease` that was closed. */
export class LeasesClosedError extends Error {
  override name = "LeasesClosedError";
  readonly code = "closed";
}
