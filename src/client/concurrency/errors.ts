import { Code } from "@connectrpc/connect";
import { EtcdError } from "../core/errors.js";

/**
 * A lock or leadership this client held (or was waiting for) is gone: its session's lease was lost,
 * or its key was deleted by someone else. Whatever the lock protected must stop.
 */
export class LockLostError extends EtcdError {
  override name = "LockLostError";
  /** The lock (or election) key that is gone. */
  readonly key: string;
  constructor(key: string, message: string, options: { cause?: unknown } = {}) {
    super(`${key}: ${message}`, { code: Code.Aborted, cause: options.cause });
    this.key = key;
  }
}

/** The session's lease was lost (expired, revoked, or not refreshed in time). */
export class SessionExpiredError extends EtcdError {
  override name = "SessionExpiredError";
  /** The session's lease ID. */
  readonly leaseId: bigint;
  constructor(leaseId: bigint, options: { cause?: unknown } = {}) {
    super(`session lease ${leaseId.toString(16)} is gone`, { code: Code.NotFound, cause: options.cause });
    this.leaseId = leaseId;
  }
}

// Thrown by the Election recipe and by the server-side Election service alike: one class to catch.
export { ElectionNotLeaderError } from "../lock-service/errors.js";
