/**
 * The client's public face on every runtime: what `etcd-ts` and `etcd-ts/web` both offer, all of it free
 * of `node:` modules. Each entry adds its own `Etcd` (the same client on its platform) and its transport:
 * `index.ts` for `etcd-ts`, `src/web/index.ts` for `etcd-ts/web`.
 * @packageDocumentation
 */

export { Code } from "@connectrpc/connect";
export * as authpb from "../gen/authpb/auth_pb.js";
export * as etcdserverpb from "../gen/etcdserverpb/rpc_pb.js";
export * as mvccpb from "../gen/mvccpb/kv_pb.js";
export * as v3electionpb from "../gen/v3electionpb/v3election_pb.js";
export * as v3lockpb from "../gen/v3lockpb/v3lock_pb.js";
export type { GetTokenContext } from "./auth/token.js";
export {
  AuthClient,
  type AuthStatus,
} from "./auth-admin/auth-client.js";
export type { Permission, PermissionInit, PermissionType } from "./auth-admin/permission.js";
export { RoleClient, type RoleInfo } from "./auth-admin/roles.js";
export { type UserAddOptions, UserClient, type UserInfo } from "./auth-admin/users.js";
export {
  type CacheChange,
  type CacheRangeOptions,
  type LinearizableReadOptions,
  RangeCache,
  RangeCacheClosedError,
  type RangeCacheEvents,
  type RangeCacheOptions,
  type RangeCacheState,
  type WaitForRevisionOptions,
} from "./cache/index.js";
export type { ResolvedEndpoint, TlsOptions } from "./call/resolved-endpoint.js";
export { RETRY_TABLE, type RetryKind } from "./call/retry.js";
export type { CallOptions, TargetedCallOptions } from "./call-options.js";
export {
  ClusterClient,
  type MemberAddOptions,
  type MemberAddResult,
  type MemberListOptions,
} from "./cluster/cluster-client.js";
export { initialCluster } from "./cluster/initial-cluster.js";
export {
  Barrier,
  DoubleBarrier,
  Election,
  ElectionNotLeaderError,
  type ElectionState,
  type HolderEvents,
  type Isolation,
  KeyExistsError,
  LockLostError,
  type LockOptions,
  Mutex,
  type MutexState,
  PriorityQueue,
  Queue,
  type RecipeWaitOptions,
  RWMutex,
  type RWMutexState,
  runStm,
  Session,
  type SessionEvents,
  SessionExpiredError,
  type SessionOptions,
  type SessionState,
  type Stm,
  StmConflictError,
  type StmOptions,
  type StmResult,
  TooManyClientsError,
} from "./concurrency/index.js";
export {
  AbortedError,
  AuthFailedError,
  AuthRequiredError,
  ClientClosedError,
  ClosedError,
  CompactedError,
  DeadlineExceededError,
  EtcdError,
  type EtcdErrorOptions,
  FutureRevisionError,
  GetTokenError,
  InvalidArgumentError,
  InvalidAuthTokenError,
  InvalidJsonError,
  InvalidUsageError,
  KeyNotFoundError,
  LeaseNotFoundError,
  LocalFileError,
  NoLeaderError,
  NotSupportedError,
  PermissionDeniedError,
  RequestTooLargeError,
  StaleReadError,
  toEtcdError,
  UnavailableError,
} from "./core/errors.js";
export { DEFAULT_MAX_REQUEST_BYTES } from "./core/validation.js";
export { type DiagnosticsChannelName, diagnosticsChannels } from "./diagnostics/channels.js";
export type {
  AuthErrorEvent,
  AuthTokenEvent,
  AutoSyncErrorEvent,
  CallErrorEvent,
  CallEvent,
  EndpointFailedEvent,
  RegistrationLostEvent,
  RegistrationRegisteredEvent,
  StreamCloseReason,
  StreamEvent,
} from "./diagnostics/events.js";
export type { IterateOptions, MemberInfo, MemberStatus } from "./etcd.js";
export type { Bytes } from "./kv/bytes.js";
export { KeyValue, type KeyValueJson } from "./kv/key-value.js";
export { prefixRangeEnd } from "./kv/range-end.js";
export type {
  DeleteOptions,
  DeleteResult,
  KeyRange,
  PutOptions,
  PutResult,
  RangeOptions,
  RangeResult,
  SortTarget,
} from "./kv/types.js";
export {
  type GrantOptions,
  Lease,
  type LeaseEvents,
  type LeaseKeepAliveEvent,
  LeaseLostError,
  type LeaseLostEvent,
  type LeaseLostReason,
  type LeaseState,
  Leases,
  LeasesClosedError,
  type LeaseTimeToLive,
} from "./lease/index.js";
export {
  type LeasingEvents,
  type LeasingGetOptions,
  LeasingKv,
  type LeasingOptions,
  type LeasingState,
  type LeasingTxn,
} from "./leasing/index.js";
export {
  type CampaignOptions,
  ElectionService,
  type LeaderKey,
  type Leadership,
  type LeaseRef,
  LockService,
  type ObserveOptions,
  type ServerLock,
  type ServerLockOptions,
} from "./lock-service/index.js";
export { MaintenanceClient } from "./maintenance/maintenance-client.js";
export type {
  AlarmInfo,
  AlarmType,
  DowngradeAction,
  EndpointStatus,
  HashKVResult,
  HashResult,
  MemberStatusResult,
  MoveLeaderOptions,
  SnapshotFileResult,
  SnapshotOptions,
} from "./maintenance/types.js";
export {
  Mirror,
  type MirrorBase,
  type MirrorBatch,
  type MirrorChanges,
  type MirrorEvents,
  type MirrorOptions,
  type MirrorState,
  type MirrorSynced,
} from "./mirror/index.js";
export type { AuthOptions, EtcdOptions, StreamOptions } from "./options.js";
export type { EtcdPort, LeasePort } from "./port.js";
export type { ClosableTransport } from "./transport/closable-transport.js";
export {
  createGatewayTransport,
  type GatewayFetch,
  type GatewayTransportOptions,
  NotSupportedOverGatewayError,
} from "./transport/gateway/index.js";
export { type CompareOperator, type Comparison, compare } from "./txn/compare.js";
export { op } from "./txn/ops.js";
export {
  type DeleteOp,
  type GetOp,
  type NestedTxnOp,
  type OpResult,
  type OpResults,
  type PutOp,
  Txn,
  type TxnOp,
  type TxnResult,
  type TxnRunner,
  txn,
} from "./txn/txn.js";
export {
  type WatchBatch,
  WatchCanceledError,
  WatchClosedError,
  WatchCompactedError,
  type WatchEvent,
  Watcher,
  type WatcherEvents,
  type WatcherState,
  type WatchFilter,
  WatchHubClosedError,
  type WatchOptions,
  type WatchResumeEvent,
} from "./watch/index.js";
