import { Code, ConnectError } from "@connectrpc/connect";
import { isConnectionLoss } from "../core/errors.js";
import { wasNotSent } from "../transport/not-sent.js";

/**
 * How a call may be retried:
 * - `idempotent`: running it twice is harmless; retried on UNAVAILABLE (and on "never sent").
 * - `write`: running it twice could apply it twice; retried only when the request provably never
 *   left this process (no connection), never after a timeout or a server answer.
 */
export type RetryKind = "idempotent" | "write";

/**
 * The retry table, by gRPC method (`service/Method`). A Txn is `write` unless every operation in it
 * (recursively) is a read; see `txnRetryKind`. LeaseKeepAlive and Watch are streams: whoever opens them
 * reopens them on UNAVAILABLE, which is safe because both are idempotent.
 */
export const RETRY_TABLE: Readonly<Record<string, RetryKind>> = {
  "etcdserverpb.KV/Range": "idempotent",
  "etcdserverpb.KV/RangeStream": "idempotent",
  "etcdserverpb.KV/Put": "write",
  "etcdserverpb.KV/DeleteRange": "write",
  "etcdserverpb.KV/Txn": "write",
  "etcdserverpb.KV/Compact": "write",
  "etcdserverpb.Watch/Watch": "idempotent",
  "etcdserverpb.Lease/LeaseGrant": "write",
  "etcdserverpb.Lease/LeaseRevoke": "write",
  "etcdserverpb.Lease/LeaseKeepAlive": "idempotent",
  "etcdserverpb.Lease/LeaseTimeToLive": "idempotent",
  "etcdserverpb.Lease/LeaseLeases": "idempotent",
  "etcdserverpb.Cluster/MemberAdd": "write",
  "etcdserverpb.Cluster/MemberRemove": "write",
  "etcdserverpb.Cluster/MemberUpdate": "write",
  "etcdserverpb.Cluster/MemberList": "idempotent",
  "etcdserverpb.Cluster/MemberPromote": "write",
  "etcdserverpb.Maintenance/Alarm": "write",
  "etcdserverpb.Maintenance/Status": "idempotent",
  "etcdserverpb.Maintenance/Defragment": "write",
  "etcdserverpb.Maintenance/Hash": "idempotent",
  "etcdserverpb.Maintenance/HashKV": "idempotent",
  "etcdserverpb.Maintenance/Snapshot": "idempotent",
  "etcdserverpb.Maintenance/MoveLeader": "write",
  "etcdserverpb.Maintenance/Downgrade": "write",
  "etcdserverpb.Auth/AuthEnable": "write",
  "etcdserverpb.Auth/AuthDisable": "write",
  "etcdserverpb.Auth/AuthStatus": "idempotent",
  "etcdserverpb.Auth/Authenticate": "idempotent",
  "etcdserverpb.Auth/UserAdd": "write",
  "etcdserverpb.Auth/UserGet": "idempotent",
  "etcdserverpb.Auth/UserList": "idempotent",
  "etcdserverpb.Auth/UserDelete": "write",
  "etcdserverpb.Auth/UserChangePassword": "write",
  "etcdserverpb.Auth/UserGrantRole": "write",
  "etcdserverpb.Auth/UserRevokeRole": "write",
  "etcdserverpb.Auth/RoleAdd": "write",
  "etcdserverpb.Auth/RoleGet": "idempotent",
  "etcdserverpb.Auth/RoleList": "idempotent",
  "etcdserverpb.Auth/RoleDelete": "write",
  "etcdserverpb.Auth/RoleGrantPermission": "write",
  "etcdserverpb.Auth/RoleRevokePermission": "write",
};

/** The retry kind of a method by its table key (`service/Method`); unknown methods count as writes. */
export function retryKindOf(method: string): RetryKind {
  return RETRY_TABLE[method] ?? "write";
}

/** Error codes of sockets that never connected: nothing of the request can have left. */
const NOT_CONNECTED_CODES = new Set([
  "ECONNREFUSED",
  "ENOTFOUND",
  "EHOSTUNREACH",
  "ENETUNREACH",
  "EAI_AGAIN",
]);

/**
 * True when a failed request provably never left this process: the transport marked it (`wasNotSent`),
 * or the cause chain shows a connection that was never established. Works with any transport.
 */
export function isNotSent(error: unknown): boolean {
  if (wasNotSent(error)) return true;
  for (let e: unknown = error, depth = 0; e instanceof Error && depth < 8; e = e.cause, depth++) {
    const code = (e as Error & { code?: unknown }).code;
    if (typeof code === "string" && NOT_CONNECTED_CODES.has(code)) return true;
    if (/\bconnect (ECONNREFUSED|ENOTFOUND|EHOSTUNREACH|ENETUNREACH)\b/.test(e.message)) return true;
  }
  return false;
}

/**
 * True when the error is gRPC UNAVAILABLE: the status itself, or a connection lost under the call
 * (which transports report with various codes).
 */
export function isUnavailable(error: unknown): boolean {
  if (error instanceof ConnectError) {
    if (error.code === Code.Unavailable) return true;
    return error.code !== Code.Canceled && error.code !== Code.DeadlineExceeded && isConnectionLoss(error);
  }
  return (error as { code?: unknown } | null)?.code === Code.Unavailable;
}

/** Whether a call of `kind` that failed with `error` may run again (on the next endpoint). */
export function shouldRetry(kind: RetryKind, error: unknown): boolean {
  if (isNotSent(error)) return true;
  if (kind === "write") return false;
  return isUnavailable(error);
}

/** The retry kind of a generated method descriptor, looked up in {@link RETRY_TABLE}. */
export function retryKindOfMethod(method: {
  readonly parent: { readonly typeName: string };
  readonly name: string;
}): RetryKind {
  return retryKindOf(`${method.parent.typeName}/${method.name}`);
}
