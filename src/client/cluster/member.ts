import type { Member } from "../../gen/etcdserverpb/rpc_pb.js";

/** One member as `MemberList` (and the membership changes) report it. */
export interface MemberInfo {
  /** Member ID. */
  id: bigint;
  /** Member name (empty until it started). */
  name: string;
  /** URLs clients use (empty until it started). */
  clientUrls: string[];
  /** URLs peers use. */
  peerUrls: string[];
  /** True for a non-voting learner. */
  isLearner: boolean;
}

/** Converts the wire `Member` to a {@link MemberInfo}. */
export function toMemberInfo(m: Member): MemberInfo {
  return {
    id: m.ID,
    name: m.name,
    clientUrls: [...m.clientURLs],
    peerUrls: [...m.peerURLs],
    isLearner: m.isLearner,
  };
}
