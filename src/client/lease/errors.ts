import { Code } from "@connectrpc/connect";
import { ClientClosedError, EtcdError } from "../core/errors.js";

/** Why a lease was declared lost. */
export type LeaseLostReason = "expired" | "deadline" | "revoked" | "closed";

/**
 * A lease this client kept alive is gone, or may be: the server answered TTL 0 (`expired`, code NotFound),
 * or no refresh succeeded before its deadline (`deadline`, code Unavailable: the server may already have
 * expired it).
 */
export class LeaseLostError extends EtcdError {
  override name = "LeaseLostError";
  /** The lease ID. */
  readonly leaseId: bigint;
  /** Why it is considered lost. */
  readonly reason: LeaseLostReason;

  constructor(leaseId: bigint, reason: LeaseLostReason, options?: { cause?: unknown }) {
    super(
      reason === "expired"
        ? `lease ${leaseId} expired: the server answered TTL 0`
        : `lease ${leaseId} lost: no keepalive succeeded before its deadline`,
      { code: reason === "deadline" ? Code.Unavailable : Code.NotFound, cause: options?.cause },
    );
    this.leaseId = leaseId;
    this.reason = reason;
  }
}

/** A call on a `Leases` or `Lease` that was closed (with its client). */
export class LeasesClosedError extends ClientClosedError {
  override name = "LeasesClosedError";
}
