/**
 * The one table of etcd's JSON gateway: every RPC the gateway serves (`package.Service/Method`, as
 * protobuf-es names a method's service `typeName` and method `name`) and the path it is POSTed to. It is
 * the `google.api.http` annotation of each RPC in etcd's `rpc.proto`, `v3lock.proto` and
 * `v3election.proto` (3.5 to 3.7). etcd 3.4 has the same paths less three: `Downgrade` and `AuthStatus`
 * (which it lacks over gRPC too) and `HashKV` (its annotation there says `/v3/maintenance/hash`, which
 * `Hash` answers): the gateway's 404 for them is a `NotSupportedOverGatewayError`. `paths.spec.ts` checks
 * the table against the schema's method list: every method of the schema is here or in
 * {@link NOT_ON_GATEWAY}, and nothing else is.
 */
export const GATEWAY_PATHS: Readonly<Record<string, string>> = Object.freeze({
  "etcdserverpb.KV/Range": "/v3/kv/range",
  "etcdserverpb.KV/Put": "/v3/kv/put",
  "etcdserverpb.KV/DeleteRange": "/v3/kv/deleterange",
  "etcdserverpb.KV/Txn": "/v3/kv/txn",
  "etcdserverpb.KV/Compact": "/v3/kv/compaction",
  "etcdserverpb.Watch/Watch": "/v3/watch",
  "etcdserverpb.Lease/LeaseGrant": "/v3/lease/grant",
  "etcdserverpb.Lease/LeaseRevoke": "/v3/lease/revoke",
  "etcdserverpb.Lease/LeaseKeepAlive": "/v3/lease/keepalive",
  "etcdserverpb.Lease/LeaseTimeToLive": "/v3/lease/timetolive",
  "etcdserverpb.Lease/LeaseLeases": "/v3/lease/leases",
  "etcdserverpb.Cluster/MemberAdd": "/v3/cluster/member/add",
  "etcdserverpb.Cluster/MemberRemove": "/v3/cluster/member/remove",
  "etcdserverpb.Cluster/MemberUpdate": "/v3/cluster/member/update",
  "etcdserverpb.Cluster/MemberList": "/v3/cluster/member/list",
  "etcdserverpb.Cluster/MemberPromote": "/v3/cluster/member/promote",
  "etcdserverpb.Maintenance/Alarm": "/v3/maintenance/alarm",
  "etcdserverpb.Maintenance/Status": "/v3/maintenance/status",
  "etcdserverpb.Maintenance/Defragment": "/v3/maintenance/defragment",
  "etcdserverpb.Maintenance/Hash": "/v3/maintenance/hash",
  "etcdserverpb.Maintenance/HashKV": "/v3/maintenance/hashkv",
  "etcdserverpb.Maintenance/Snapshot": "/v3/maintenance/snapshot",
  "etcdserverpb.Maintenance/MoveLeader": "/v3/maintenance/transfer-leadership",
  "etcdserverpb.Maintenance/Downgrade": "/v3/maintenance/downgrade",
  "etcdserverpb.Auth/AuthEnable": "/v3/auth/enable",
  "etcdserverpb.Auth/AuthDisable": "/v3/auth/disable",
  "etcdserverpb.Auth/AuthStatus": "/v3/auth/status",
  "etcdserverpb.Auth/Authenticate": "/v3/auth/authenticate",
  "etcdserverpb.Auth/UserAdd": "/v3/auth/user/add",
  "etcdserverpb.Auth/UserGet": "/v3/auth/user/get",
  "etcdserverpb.Auth/UserList": "/v3/auth/user/list",
  "etcdserverpb.Auth/UserDelete": "/v3/auth/user/delete",
  "etcdserverpb.Auth/UserChangePassword": "/v3/auth/user/changepw",
  "etcdserverpb.Auth/UserGrantRole": "/v3/auth/user/grant",
  "etcdserverpb.Auth/UserRevokeRole": "/v3/auth/user/revoke",
  "etcdserverpb.Auth/RoleAdd": "/v3/auth/role/add",
  "etcdserverpb.Auth/RoleGet": "/v3/auth/role/get",
  "etcdserverpb.Auth/RoleList": "/v3/auth/role/list",
  "etcdserverpb.Auth/RoleDelete": "/v3/auth/role/delete",
  "etcdserverpb.Auth/RoleGrantPermission": "/v3/auth/role/grant",
  "etcdserverpb.Auth/RoleRevokePermission": "/v3/auth/role/revoke",
  "v3lockpb.Lock/Lock": "/v3/lock/lock",
  "v3lockpb.Lock/Unlock": "/v3/lock/unlock",
  "v3electionpb.Election/Campaign": "/v3/election/campaign",
  "v3electionpb.Election/Proclaim": "/v3/election/proclaim",
  "v3electionpb.Election/Leader": "/v3/election/leader",
  "v3electionpb.Election/Observe": "/v3/election/observe",
  "v3electionpb.Election/Resign": "/v3/election/resign",
});

/**
 * RPCs of the schema that etcd's gateway does not serve, and why: calling one through the gateway
 * transport fails with `NotSupportedOverGatewayError` before anything is sent.
 */
export const NOT_ON_GATEWAY: Readonly<Record<string, string>> = Object.freeze({
  "etcdserverpb.KV/RangeStream": "etcd 3.7 serves RangeStream over gRPC only (it has no gateway path)",
  "grpc.health.v1.Health/Check": "gRPC health checking has no gateway path",
  "grpc.health.v1.Health/Watch": "gRPC health checking has no gateway path",
  "grpc.health.v1.Health/List": "gRPC health checking has no gateway path",
});

/** The table's key of a method: `package.Service/Method`. */
export function rpcName(method: {
  readonly parent: { readonly typeName: string };
  readonly name: string;
}): string {
  return `${method.parent.typeName}/${method.name}`;
}
