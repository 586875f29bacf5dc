import { Code, ConnectError } from "@connectrpc/connect";
import { isUnavailable } from "./failure.js";

/** Options every {@link EtcdError} can carry. */
export interface EtcdErrorOptions {
  /** gRPC status code. Default `Code.Unknown`. */
  code?: Code | undefined;
  /** The endpoint the error came from, when a call reached one. */
  endpoint?: string | undefined;
  /** The original error (usually the transport's `ConnectError`, with its metadata). */
  cause?: unknown | undefined;
}

/**
 * The one error type of the client: a gRPC status `code`, the server's own message (`serverMessage`)
 * and the `endpoint` it came from. The original `ConnectError` stays in `cause`. Subclasses exist only
 * where callers branch on them.
 */
export class EtcdError extends Error {
  override name = "EtcdError";
  /** gRPC status code (Connect's `Code` numbers are gRPC's). */
  readonly code: Code;
  /** The message as the server (or transport) sent it, without the endpoint suffix. */
  readonly serverMessage: string;
  /** The endpoint that answered, when there was one. */
  readonly endpoint: string | undefined;

  constructor(message: string, options: EtcdErrorOptions = {}) {
    super(options.endpoint ? `${message} [${options.endpoint}]` : message, { cause: options.cause });
    this.code = options.code ?? Code.Unknown;
    this.serverMessage = message;
    this.endpoint = options.endpoint;
  }
}

/** The lease named in a call does not exist (expired or revoked). */
export class LeaseNotFoundError extends EtcdError {
  override name = "LeaseNotFoundError";
}

/** The requested revision was compacted away; read a newer revision. */
export class CompactedError extends EtcdError {
  override name = "CompactedError";
}

/** The requested revision is newer than the store's current revision. */
export class FutureRevisionError extends EtcdError {
  override name = "FutureRevisionError";
}

/**
 * The authenticated user lacks the permission the call needs: a key outside its roles, or an admin call
 * (membership, alarms activate/deactivate, defragment, hashes, snapshot, move leader, downgrade, user
 * and role management) without the `root` role. `rpc` names the call when the client knows it; the
 * message then names it too, e.g. `etcdserver: permission denied (Maintenance/Alarm needs the root role)`.
 */
export class PermissionDeniedError extends EtcdError {
  override name = "PermissionDeniedError";
  /** The refused RPC as `Service/Method` (e.g. `Cluster/MemberAdd`), when the client knows it. */
  readonly rpc: string | undefined;

  constructor(message: string, options: EtcdErrorOptions & { rpc?: string | undefined } = {}) {
    super(message, options);
    this.rpc = options.rpc;
    if (options.rpc !== undefined) {
      const call = `${message} (${refusalNote(this, options.rpc)})`;
      this.message = options.endpoint ? `${call} [${options.endpoint}]` : call;
    }
  }
}

/**
 * Auth is on and the call carried no token: the client has no `auth` option (etcd's "user name is
 * empty"). From etcd 3.4.42, 3.5.28 and 3.6.9 this includes Status, Alarm (GET), MemberList and the
 * lease calls (CVE-2026-33413), so autosync and status checks need credentials too. A
 * {@link PermissionDeniedError}: the call is not permitted without a user.
 */
export class AuthRequiredError extends PermissionDeniedError {
  override name = "AuthRequiredError";
}

/** Services whose every refused call is an admin call: it takes the `root` role. */
const ADMIN_SERVICES = /^(Cluster|Maintenance|Auth)\//;

/** What a refusal of `rpc` says after etcd's message. */
function refusalNote(error: PermissionDeniedError, rpc: string): string {
  if (error instanceof AuthRequiredError)
    return `${rpc} needs an authenticated user; the client sent no token`;
  return ADMIN_SERVICES.test(rpc) ? `${rpc} needs the root role` : rpc;
}

/**
 * Names the RPC a refusal answered (see {@link PermissionDeniedError.rpc}): a
 * {@link PermissionDeniedError} or {@link AuthRequiredError} that does not name one yet comes back as
 * the same class naming `rpc` (`Service/Method`); other errors (or no `rpc`) pass through unchanged.
 */
export function nameRefusedCall(error: EtcdError, rpc: string | undefined): EtcdError {
  if (rpc === undefined || !(error instanceof PermissionDeniedError) || error.rpc !== undefined) return error;
  const Refusal = error instanceof AuthRequiredError ? AuthRequiredError : PermissionDeniedError;
  return new Refusal(error.serverMessage, {
    code: error.code,
    endpoint: error.endpoint,
    cause: error.cause ?? error,
    rpc,
  });
}

/** Wrong user name or password (raised at once: retrying cannot help). */
export class AuthFailedError extends EtcdError {
  override name = "AuthFailedError";
}

/**
 * The client's `auth.getToken` threw, rejected, returned no usable token, or did not settle within the
 * client's `timeoutMs`. Code UNAUTHENTICATED; the thrown error is the `cause`. The call that needed the
 * token was never sent. The client does not retry it: the next call asks `getToken` again.
 */
export class GetTokenError extends EtcdError {
  override name = "GetTokenError";
}

/** The auth token was rejected (expired, issued by another member, or the auth store changed). */
export class InvalidAuthTokenError extends EtcdError {
  override name = "InvalidAuthTokenError";
}

/** The endpoint could not be reached or could not serve the call. */
export class UnavailableError extends EtcdError {
  override name = "UnavailableError";
}

/**
 * With the client's `monotonicReads` on, a read was answered by a member whose store revision
 * (`revision`, the answer's header) is older than the newest revision this client had already seen
 * (`seenRevision`) when the read started: the member is behind (frozen, partitioned, restarted, slow to
 * apply), and its answer would take the client back in time. The call retries on the other members like
 * any UNAVAILABLE read; this error is what it ends with when none of them answered at `seenRevision` or
 * newer within its attempts and deadline. An {@link UnavailableError} (code UNAVAILABLE); `endpoint` names
 * the member that answered.
 */
export class StaleReadError extends UnavailableError {
  override name = "StaleReadError";
  /** The store revision the member answered at. */
  readonly revision: bigint;
  /** The newest revision this client had seen when the read started: the least it accepts. */
  readonly seenRevision: bigint;

  constructor(revision: bigint, seenRevision: bigint, endpoint?: string) {
    super(
      `the member answered at revision ${revision}, older than revision ${seenRevision} this client already saw (monotonicReads)`,
      { code: Code.Unavailable, endpoint },
    );
    this.revision = revision;
    this.seenRevision = seenRevision;
  }
}

/** The member that answered has no leader (cut off from its cluster). */
export class NoLeaderError extends UnavailableError {
  override name = "NoLeaderError";
}

/** The request exceeds the server's request size limit (`--max-request-bytes`, default 1.5 MiB). */
export class RequestTooLargeError extends EtcdError {
  override name = "RequestTooLargeError";
  /** The request field that made it too large, when the client detected it before sending. */
  readonly field: string | undefined;
  constructor(message: string, options: EtcdErrorOptions & { field?: string } = {}) {
    // One code whoever refused: etcd says INVALID_ARGUMENT, a transport's limit RESOURCE_EXHAUSTED.
    super(message, { ...options, code: Code.ResourceExhausted });
    this.field = options.field;
  }
}

/** A call that requires an existing key (put with `ignoreValue` / `ignoreLease`) found none. */
export class KeyNotFoundError extends EtcdError {
  override name = "KeyNotFoundError";
}

/** The call's deadline (`timeoutMs`) passed before an answer came: the outcome of a write is unknown. */
export class DeadlineExceededError extends EtcdError {
  override name = "DeadlineExceededError";
}

/** The call was aborted through its `AbortSignal`, or the client was closed. */
export class AbortedError extends EtcdError {
  override name = "AbortedError";
}

/** A call argument or client option is invalid; raised before anything is sent. */
export class InvalidArgumentError extends EtcdError {
  override name = "InvalidArgumentError";
  /** The option or argument at fault, e.g. `key`, `ttl`, `endpoints`. */
  readonly field: string;
  constructor(field: string, message: string) {
    super(`${field}: ${message}`, { code: Code.InvalidArgument });
    this.field = field;
  }
}

/**
 * Something was closed (by its user, its signal or its client) before, or while, it was used: the
 * one class to catch for "closed". Code CANCELED.
 */
export class ClosedError extends EtcdError {
  override name = "ClosedError";
  constructor(message: string) {
    super(message, { code: Code.Canceled });
  }
}

/** A call was made on a closed client. */
export class ClientClosedError extends ClosedError {
  override name = "ClientClosedError";
  constructor() {
    super("the etcd client is closed");
  }
}

/** The API was used in a way it does not allow (e.g. a second `for await` over one watch). */
export class InvalidUsageError extends EtcdError {
  override name = "InvalidUsageError";
  constructor(message: string) {
    super(message, { code: Code.FailedPrecondition });
  }
}

/**
 * A local file could not be created, written or renamed (e.g. `maintenance.snapshotToFile()` into a
 * folder that does not exist, without permission, on a full disk): nothing to do with etcd, never
 * retried. `path` names the file; `cause` is Node's error, whose `code` says why (`ENOENT`, `EACCES`,
 * `ENOSPC`, ...). Code FAILED_PRECONDITION.
 */
export class LocalFileError extends EtcdError {
  override name = "LocalFileError";
  /** The file that could not be written. */
  readonly path: string;
  constructor(path: string, cause: unknown) {
    const why = cause instanceof Error ? cause.message : String(cause);
    super(`cannot write ${path}: ${why}`, { code: Code.FailedPrecondition, cause });
    this.path = path;
  }
}

/**
 * A value read as JSON (`kv.json()`) is not UTF-8 JSON. `key` is the key (as text); `cause` is the
 * `SyntaxError` or `TypeError` of the parse or decode. Code FAILED_PRECONDITION.
 */
export class InvalidJsonError extends EtcdError {
  override name = "InvalidJsonError";
  /** The key whose value is not JSON. */
  readonly key: string;
  constructor(key: string, cause: unknown) {
    const why = cause instanceof Error ? cause.message : String(cause);
    super(`the value of ${JSON.stringify(key)} is not JSON: ${why}`, {
      code: Code.FailedPrecondition,
      cause,
    });
    this.key = key;
  }
}

/**
 * The server does not implement the RPC (gRPC UNIMPLEMENTED): e.g. `Downgrade` or `AuthStatus` on
 * etcd 3.4. Admin calls name the RPC and the version it needs in the message.
 */
export class NotSupportedError extends EtcdError {
  override name = "NotSupportedError";
}

/**
 * Rewrites an UNIMPLEMENTED answer to `rpc` (e.g. `Maintenance/Downgrade`) as a
 * {@link NotSupportedError} saying which etcd version it needs; other errors pass through.
 */
export function notSupportedBefore(error: unknown, rpc: string, version: string): unknown {
  if (!(error instanceof EtcdError) || error.code !== Code.Unimplemented) return error;
  return new NotSupportedError(`${rpc} is not supported by this server: it requires etcd >= ${version}`, {
    code: Code.Unimplemented,
    endpoint: error.endpoint,
    cause: error.cause ?? error,
  });
}

type ErrorClass = new (message: string, options: EtcdErrorOptions) => EtcdError;

/** etcd's own status messages (server/etcdserver/api/v3rpc/rpctypes/error.go) and what they mean. */
const BY_SERVER_MESSAGE: ReadonlyMap<string, ErrorClass> = new Map<string, ErrorClass>([
  ["etcdserver: requested lease not found", LeaseNotFoundError],
  ["etcdserver: mvcc: required revision has been compacted", CompactedError],
  ["etcdserver: mvcc: required revision is a future revision", FutureRevisionError],
  // The bare mvcc text, should a server pass the error through without its gRPC mapping.
  ["mvcc: required revision has been compacted", CompactedError],
  ["mvcc: required revision is a future revision", FutureRevisionError],
  ["etcdserver: permission denied", PermissionDeniedError],
  ["etcdserver: user name is empty", AuthRequiredError],
  // etcd 3.4 and 3.5 answer Hash, HashKV, Defragment and Snapshot with the bare auth error, code UNKNOWN.
  ["auth: permission denied", PermissionDeniedError],
  ["auth: user name is empty", AuthRequiredError],
  ["etcdserver: authentication failed, invalid user ID or password", AuthFailedError],
  ["etcdserver: invalid auth token", InvalidAuthTokenError],
  // Re-authenticating fixes it the same way as an expired token.
  ["etcdserver: revision of auth store is old", InvalidAuthTokenError],
  ["etcdserver: no leader", NoLeaderError],
  ["etcdserver: request is too large", RequestTooLargeError],
  ["etcdserver: key not found", KeyNotFoundError],
  // The server's side of the deadline we sent as grpc-timeout; grpc-go sometimes gives it code UNKNOWN.
  ["context deadline exceeded", DeadlineExceededError],
]);

const BY_CODE: ReadonlyMap<Code, ErrorClass> = new Map<Code, ErrorClass>([
  [Code.Unavailable, UnavailableError],
  [Code.DeadlineExceeded, DeadlineExceededError],
  [Code.Canceled, AbortedError],
  [Code.PermissionDenied, PermissionDeniedError],
  [Code.Unauthenticated, InvalidAuthTokenError],
  [Code.Unimplemented, NotSupportedError],
]);

/**
 * Turns whatever a transport threw into an {@link EtcdError}, keeping the status code, the server's
 * message, the endpoint, and the original error as `cause`. EtcdErrors pass through unchanged.
 */
export function toEtcdError(error: unknown, endpoint?: string): EtcdError {
  if (error instanceof EtcdError) return error;
  const ce = ConnectError.from(error);
  const message = ce.rawMessage;
  // A connection refused or lost is UNAVAILABLE whatever code the transport gave it (the failure rule).
  const code = isUnavailable(error) ? Code.Unavailable : ce.code;
  const options: EtcdErrorOptions = { code, endpoint, cause: error };
  const byMessage = BY_SERVER_MESSAGE.get(message);
  // A deadline is DEADLINE_EXCEEDED whoever noticed it first (the server may say UNKNOWN).
  if (byMessage === DeadlineExceededError) options.code = Code.DeadlineExceeded;
  // The bare auth errors come as UNKNOWN: give them the code etcd gives the same refusal elsewhere.
  if (code === Code.Unknown && byMessage === PermissionDeniedError) options.code = Code.PermissionDenied;
  if (code === Code.Unknown && byMessage === AuthRequiredError) options.code = Code.InvalidArgument;
  if (byMessage) return new byMessage(message, options);
  // gRPC's own size limits ("received message larger than max", a transport's "message of N bytes
  // exceeds the send limit") come as RESOURCE_EXHAUSTED.
  if (code === Code.ResourceExhausted && /larger than max|exceeds the send limit/i.test(message))
    return new RequestTooLargeError(message, options);
  const byCode = BY_CODE.get(code);
  return byCode ? new byCode(message, options) : new EtcdError(message, options);
}
