import { Code } from "@connectrpc/connect";
import { EtcdError } from "../client/core/index.js";
import { type GatewayRequestOptions, gatewayRequest } from "./gateway.js";

/** What `/v3/maintenance/status` says about the member that answered. */
export interface MemberStatus {
  /** ID of the member that answered. */
  memberId: bigint;
  /** ID of the leader it knows; `0n` while it knows none. */
  leader: bigint;
  /** Raft term it is in. */
  raftTerm: bigint;
  /** etcd server version, e.g. `"3.4.23"`. */
  version: string;
  /** True when the member is a learner (etcd 3.4 leaves this out, so false there). */
  isLearner: boolean;
}

/** One entry of the member list. */
export interface ClusterMemberInfo {
  /** Member ID. */
  id: bigint;
  /** Name; empty until an added member has started and published itself. */
  name: string;
  /** Peer URLs. */
  peerURLs: string[];
  /** Client URLs; empty until the member has started. */
  clientURLs: string[];
  /** True for a learner. */
  isLearner: boolean;
}

interface RawMember {
  ID?: string | undefined;
  name?: string | undefined;
  peerURLs?: string[] | undefined;
  clientURLs?: string[] | undefined;
  isLearner?: boolean | undefined;
}

function toMember(raw: RawMember): ClusterMemberInfo {
  return {
    id: BigInt(raw.ID ?? "0"),
    name: raw.name ?? "",
    peerURLs: raw.peerURLs ?? [],
    clientURLs: raw.clientURLs ?? [],
    isLearner: raw.isLearner ?? false,
  };
}

/** Maintenance/Status of the member at `endpoint`. */
export async function fetchMemberStatus(
  endpoint: string,
  options?: GatewayRequestOptions,
): Promise<MemberStatus> {
  const raw = await gatewayRequest<{
    header?: { member_id?: string } | undefined;
    leader?: string | undefined;
    raftTerm?: string | undefined;
    version?: string | undefined;
    isLearner?: boolean | undefined;
  }>(endpoint, "/v3/maintenance/status", {}, options);
  return {
    memberId: BigInt(raw.header?.member_id ?? "0"),
    leader: BigInt(raw.leader ?? "0"),
    raftTerm: BigInt(raw.raftTerm ?? "0"),
    version: raw.version ?? "",
    isLearner: raw.isLearner ?? false,
  };
}

/** Cluster/MemberList as seen by the member at `endpoint`. */
export async function fetchMemberList(
  endpoint: string,
  options?: GatewayRequestOptions,
): Promise<ClusterMemberInfo[]> {
  const raw = await gatewayRequest<{ members?: RawMember[] }>(
    endpoint,
    "/v3/cluster/member/list",
    {},
    options,
  );
  return (raw.members ?? []).map(toMember);
}

/** Cluster/MemberAdd through `endpoint`: returns the new member and the member list after the add. */
export async function requestMemberAdd(
  endpoint: string,
  peerURLs: string[],
  isLearner: boolean,
  options?: GatewayRequestOptions,
): Promise<{ member: ClusterMemberInfo; members: ClusterMemberInfo[] }> {
  const raw = await gatewayRequest<{ member?: RawMember; members?: RawMember[] }>(
    endpoint,
    "/v3/cluster/member/add",
    { peerURLs, isLearner },
    options,
  );
  if (!raw.member)
    throw new EtcdError(`MemberAdd through ${endpoint} returned no member`, {
      code: Code.Internal,
      endpoint,
    });
  return { member: toMember(raw.member), members: (raw.members ?? []).map(toMember) };
}

/** Cluster/MemberRemove of member `id` through `endpoint`. */
export async function requestMemberRemove(
  endpoint: string,
  id: bigint,
  options?: GatewayRequestOptions,
): Promise<void> {
  await gatewayRequest(endpoint, "/v3/cluster/member/remove", { ID: id.toString() }, options);
}

/** Cluster/MemberPromote of learner `id` through `endpoint`. */
export async function requestMemberPromote(
  endpoint: string,
  id: bigint,
  options?: GatewayRequestOptions,
): Promise<void> {
  await gatewayRequest(endpoint, "/v3/cluster/member/promote", { ID: id.toString() }, options);
}

/**
 * The `--initial-cluster` value a newly added member must start with: every member of the list after
 * the add, the new one under `newName` (it has no name yet), as etcdctl's `member add` prints it.
 */
export function initialClusterAfterAdd(members: ClusterMemberInfo[], newId: bigint, newName: string): string {
  const entries: string[] = [];
  for (const m of members) {
    const name = m.id === newId ? newName : m.name;
    for (const url of m.peerURLs) entries.push(`${name}=${url}`);
  }
  return entries.join(",");
}
