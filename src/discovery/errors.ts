import { Code } from "@connectrpc/connect";
import { ClosedError, EtcdError } from "../client/core/index.js";

/** Another live instance already holds the key this registration wants (put-if-absent refused). Code ALREADY_EXISTS. */
export class RegistrationConflictError extends EtcdError {
  override name = "RegistrationConflictError";
  /** The contested key. */
  readonly key: string;
  /** Lease of the instance holding the key (0 when it has none). */
  readonly holderLease: bigint;

  constructor(key: string, holderLease: bigint) {
    super(`key ${key} is held by another live instance (lease ${holderLease})`, { code: Code.AlreadyExists });
    this.key = key;
    this.holderLease = holderLease;
  }
}

/** The registration was deregistered or closed; no further calls are possible. Code CANCELED. */
export class RegistrationClosedError extends ClosedError {
  override name = "RegistrationClosedError";

  constructor() {
    super("the registration is closed");
  }
}

/**
 * Why a registration was lost: `lease-lost` (its lease expired, was revoked, or was not refreshed in
 * time), `key-deleted` (its key was deleted), `key-replaced` (its key was written under another lease).
 * A watch of the key that is refused or breaks is none of these: the key is read to find out.
 */
export type RegistrationLossReason = "lease-lost" | "key-deleted" | "key-replaced";

/** A registration stopped being visible in etcd; it re-registers on its own. Code UNAVAILABLE. */
export class RegistrationLostError extends EtcdError {
  override name = "RegistrationLostError";
  /** What happened. */
  readonly reason: RegistrationLossReason;

  constructor(reason: RegistrationLossReason, options?: { cause?: unknown }) {
    super(`registration lost: ${reason}`, { code: Code.Unavailable, cause: options?.cause });
    this.reason = reason;
  }
}
