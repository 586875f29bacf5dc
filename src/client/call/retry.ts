import { classifyFailure, type Failure, isUnavailableFailure } from "../core/failure.js";

/**
 * How a call may be retried:
 * - `idempotent`: running it twice is harmless; retried on UNAVAILABLE (and on "never sent").
 * - `write`: running it twice could apply it twice; retried only when the request provably never
 *   left this process (no connection), never after a timeout or a server answer.
 */
export type RetryKind = "idempotent" | "write";

/**
 * The retry table, by gRPC method (`service/Method`). A Txn is `write` unless every operation in it
 * (recursively) is a read; see `retryKindOfCall`. LeaseKeepAlive and Watch are streams: whoever opens them
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
  // The server-side lock and election. Lock and Campaign wait on the member for the lock or leadership:
  // a retry after the first attempt was sent could run while the member still cleans up the first one
  // (it deletes its key when the call ends unanswered) and answer "held" on a key about to vanish.
  "v3lockpb.Lock/Lock": "write",
  // A plain delete of the key, like KV/DeleteRange.
  "v3lockpb.Lock/Unlock": "write",
  "v3electionpb.Election/Campaign": "write",
  // A put of the leader's value, like KV/Put (guarded by the key's create revision).
  "v3electionpb.Election/Proclaim": "write",
  "v3electionpb.Election/Leader": "idempotent",
  "v3electionpb.Election/Observe": "idempotent",
  // A delete guarded by the key's create revision: a second run deletes nothing (a new leadership has a
  // new create revision), so it is safe to run again.
  "v3electionpb.Election/Resign": "idempotent",
};

/** The retry kind of a method by its table key (`service/Method`); unknown methods count as writes. */
export function retryKindOf(method: string): RetryKind {
  return RETRY_TABLE[method] ?? "write";
}

/**
 * Whether a call of `kind` that failed with `error` may run again (on the next endpoint), by the one
 * failure rule ({@link classifyFailure}): a request that never left is sent again when the endpoint
 * was the reason (`unreachable`, a refused stream) or the deadline passed while it waited; an
 * idempotent call also after the connection was lost or the server said UNAVAILABLE. Refusals (auth,
 * any other status, UNKNOWN/INTERNAL) and cancels are never retried, sent or not.
 */
export function shouldRetry(kind: RetryKind, error: unknown): boolean {
  return retryAllowed(kind, classifyFailure(error));
}

/** {@link shouldRetry} for a failure already classified. */
export function retryAllowed(kind: RetryKind, failure: Failure): boolean {
  const unavailable = isUnavailableFailure(failure);
  if (!failure.sent) return unavailable || failure.kind === "deadline";
  return kind === "idempotent" && unavailable;
}

/** A Txn's request as the retry rule reads it: its ops' cases, nested txns included. */
interface TxnRequestShape {
  readonly success?: readonly TxnOpShape[] | undefined;
  readonly failure?: readonly TxnOpShape[] | undefined;
}
interface TxnOpShape {
  readonly request?: { readonly case?: string | undefined; readonly value?: unknown } | undefined;
}

/** True when no op of a Txn request (in either branch, nested txns included) writes. */
function txnReadsOnly(txn: TxnRequestShape): boolean {
  const reads = (ops: readonly TxnOpShape[] | undefined): boolean =>
    (ops ?? []).every(
      (op) =>
        op.request?.case === "requestRange" ||
        (op.request?.case === "requestTxn" && txnReadsOnly(op.request.value as TxnRequestShape)),
    );
  return reads(txn.success) && reads(txn.failure);
}

/**
 * The retry kind of one call: {@link RETRY_TABLE}'s entry for its method, where a `KV/Txn` whose ops
 * only read (recursively) is `idempotent` like the reads it is made of.
 */
export function retryKindOfCall(
  method: { readonly parent: { readonly typeName: string }; readonly name: string },
  input: unknown,
): RetryKind {
  let kind = KIND_BY_METHOD.get(method);
  if (kind === undefined) {
    kind = retryKindOf(`${method.parent.typeName}/${method.name}`);
    KIND_BY_METHOD.set(method, kind);
  }
  if (kind === "write" && method.name === "Txn" && method.parent.typeName === "etcdserverpb.KV")
    return txnReadsOnly(input as TxnRequestShape) ? "idempotent" : "write";
  return kind;
}

/** {@link RETRY_TABLE}'s kind by method descriptor, so that a call does not build its table key. */
const KIND_BY_METHOD = new WeakMap<object, RetryKind>();

/** The retry kind of a generated method descriptor, looked up in {@link RETRY_TABLE}. */
export function retryKindOfMethod(method: {
  readonly parent: { readonly typeName: string };
  readonly name: string;
}): RetryKind {
  return retryKindOf(`${method.parent.typeName}/${method.name}`);
}
