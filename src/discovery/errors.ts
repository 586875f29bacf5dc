/** Another live instance already holds the key this registration wants (put-if-absent refused). */
export class RegistrationConflictError extends Error {
  override name = "RegistrationConflictError";
  /** Stable code to branch on. */
  readonly code = "REGISTRATION_CONFLICT";
  /** The contested key. */
  readonly key: string;
  /** Lease of the instance holding the key (0 when it has none). */
  readonly holderLease: bigint;

  constructor(key: string, holderLease: bigint) {
    super(`key ${key} is held by another live instance (lease ${holderLease})`);
    this.key = key;
    this.holderLease = holderLease;
  }
}

/** The registration was deregistered or closed; no further calls are possible. */
export class RegistrationClosedError extends Error {
  override name = "RegistrationClosedError";
  /** Stable code to branch on. */
  readonly code = "REGISTRATION_CLOSED";

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

/** A registration stopped being visible in etcd; it re-registers on its own. */
export class RegistrationLostError extends Error {
  override name = "RegistrationLostError";
  /** Stable code to branch on. */
  readonly code = "REGISTRATION_LOST";
  /** What happened. */
  readonly reason: RegistrationLossReason;

  constructor(reason: RegistrationLossReason, options?: { cause?: unknown }) {
    super(`registration lost: ${reason}`, options);
    this.reason = reason;
  }
}
