import type { TargetedCallOptions } from "../call-options.js";
import type { MemberInfo } from "../cluster/member.js";
import type { EtcdError } from "../core/errors.js";

/** What `Status` reports about the member that answered. */
export interface MemberStatus {
  /** The member that answered. */
  memberId: bigint;
  /** The member it believes is leader (0n for none). */
  leader: bigint;
  /** Its store revision. */
  revision: bigint;
  /** Its raft term. */
  raftTerm: bigint;
  /** Its etcd version, e.g. `3.4.23`. */
  version: string;
  /** The endpoint that answered. */
  endpoint: string;
}

/** The full `Status` of one member, as `etcd.maintenance.status()` returns it. */
export interface EndpointStatus extends MemberStatus {
  /** True when the member that answered is the leader it reports. */
  isLeader: boolean;
  /** True for a learner (etcd >= 3.4). */
  isLearner: boolean;
  /** Raft index of the last entry it holds. */
  raftIndex: bigint;
  /** Raft index of the last entry it applied (etcd >= 3.4). */
  raftAppliedIndex: bigint;
  /** Size of the backend database file, in bytes. */
  dbSize: bigint;
  /** Bytes of the database actually in use (the rest is reclaimed by defragment). */
  dbSizeInUse: bigint;
  /** Alarms and errors the member reports (e.g. `"memberID:... alarm:NOSPACE "`). */
  errors: string[];
}

/** One member's answer in `statusAll()`: its status, or why there is none. */
export interface MemberStatusResult {
  /** The member, from the member list. */
  member: MemberInfo;
  /** The client URL asked (the first the client can use); undefined when it has none yet. */
  endpoint: string | undefined;
  /** Its status, when it answered. */
  status: EndpointStatus | undefined;
  /** Why it did not answer (or `endpoint` is undefined). */
  error: EtcdError | undefined;
}

/** Alarms a member raises. */
export type AlarmType = "NOSPACE" | "CORRUPT";

/** An active alarm. */
export interface AlarmInfo {
  /** The member that raised it. */
  memberId: bigint;
  /** Which alarm. */
  alarm: AlarmType;
}

/** What `Hash` returns. */
export interface HashResult {
  /** Hash of the member's whole backend (minus its consistent index). */
  hash: number;
  /** The member that answered. */
  memberId: bigint;
  /** Its store revision. */
  revision: bigint;
}

/** What `HashKV` returns. */
export interface HashKVResult {
  /** Hash of the key-value history up to the revision asked. */
  hash: number;
  /** The compact revision the hash starts from. */
  compactRevision: bigint;
  /** The revision the hash covers (etcd >= 3.6; 0n before). */
  hashRevision: bigint;
  /** The member that answered. */
  memberId: bigint;
  /** Its store revision. */
  revision: bigint;
}

/** Options of a snapshot. */
export interface SnapshotOptions {
  /** The member to take it from. Default: the pinned endpoint (a failed open moves on). */
  endpoint?: string | undefined;
  /** Aborts the transfer; it then fails with `AbortedError`. Default none. */
  signal?: AbortSignal | undefined;
  /**
   * Deadline of the whole transfer in ms. Default none: a snapshot of a large store takes as long as
   * it takes (abort it with `signal`).
   */
  timeoutMs?: number | undefined;
}

/** What `snapshotToFile` wrote. */
export interface SnapshotFileResult {
  /** The file written. */
  path: string;
  /** Its size in bytes. */
  bytes: number;
}

/** Actions of `Downgrade` (etcd >= 3.5). */
export type DowngradeAction = "validate" | "enable" | "cancel";

/** Options of `moveLeader`. */
export type MoveLeaderOptions = Omit<TargetedCallOptions, "endpoint">;
