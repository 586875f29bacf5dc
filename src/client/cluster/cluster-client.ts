import { Code } from "@connectrpc/connect";
import { Cluster } from "../../gen/etcdserverpb/rpc_pb.js";
import type { AdminContext } from "../call/admin-context.js";
import type { TargetedCallOptions } from "../call-options.js";
import { EtcdError } from "../core/errors.js";
import { checkInteger } from "../core/validation.js";
import { type MemberInfo, toMemberInfo } from "./member.js";
import { checkPeerUrls } from "./peer-urls.js";

/** Options of {@link ClusterClient.list}. */
export interface MemberListOptions extends TargetedCallOptions {
  /**
   * Answer through raft (a quorum round) rather than from the member's local view. etcd >= 3.5;
   * etcd 3.4 ignores the field and answers from its local view. Without quorum a linearizable list
   * cannot be answered: the call goes out requiring a leader, so a member without one refuses it at once
   * (`NoLeaderError`, the next endpoint is tried; 3.4 too) instead of holding it until etcd's "request
   * timed out". Default false.
   */
  linearizable?: boolean | undefined;
}

/** Options of {@link ClusterClient.add}. */
export interface MemberAddOptions extends TargetedCallOptions {
  /** Add a non-voting learner (promote it once it caught up). Default false: a voting member. */
  learner?: boolean | undefined;
}

/** What `MemberAdd` returns. */
export interface MemberAddResult {
  /** The new member (no name and no client URLs until it starts). */
  member: MemberInfo;
  /** Every member after the add, the new one included. */
  members: MemberInfo[];
}

/**
 * Cluster membership (`etcd.cluster`): list, add (voter or learner), remove, update peer URLs, promote.
 * Every call takes `endpoint` to send it to one chosen member. Changes are retried only when the request
 * provably never left (RETRY_TABLE); etcd refuses changes for ~5 s after a member connects
 * ("unhealthy cluster") and promotions until the learner caught up: those refusals are the caller's to
 * retry.
 */
export class ClusterClient {
  readonly #ctx: AdminContext;

  /** @internal Made by `Etcd`; use `etcd.cluster`. */
  constructor(ctx: AdminContext) {
    this.#ctx = ctx;
  }

  /**
   * Lists the members (learners included). A plain list is the answering member's own view, given
   * with or without a leader; see {@link MemberListOptions.linearizable} for one confirmed by quorum.
   */
  async list(options?: MemberListOptions): Promise<MemberInfo[]> {
    const linearizable = options?.linearizable ?? false;
    // A linearizable list needs a leader: require one, or a leaderless member holds the call ~7 s.
    const res = await this.#ctx.caller.call(
      { method: Cluster.method.memberList, options, hasleader: linearizable },
      { linearizable },
    );
    return res.members.map(toMemberInfo);
  }

  /**
   * Adds a member with `peerUrls`; start it afterwards with `--initial-cluster-state existing` and the
   * initial cluster `initialCluster(result.members, result.member.id, name)` gives.
   */
  async add(peerUrls: string[], options?: MemberAddOptions): Promise<MemberAddResult> {
    const req = { peerURLs: checkPeerUrls(peerUrls), isLearner: options?.learner ?? false };
    const res = await this.#ctx.caller.call({ method: Cluster.method.memberAdd, options }, req);
    if (!res.member)
      throw new EtcdError("MemberAdd answered without the new member", { code: Code.Internal });
    return { member: toMemberInfo(res.member), members: res.members.map(toMemberInfo) };
  }

  /** Removes member `id`; returns the members left. The removed member shuts itself down. */
  async remove(id: bigint | number, options?: TargetedCallOptions): Promise<MemberInfo[]> {
    const req = { ID: checkInteger(id, "id", 1) };
    const res = await this.#ctx.caller.call({ method: Cluster.method.memberRemove, options }, req);
    return res.members.map(toMemberInfo);
  }

  /** Replaces the peer URLs of member `id`; returns the members after the change. */
  async update(
    id: bigint | number,
    peerUrls: string[],
    options?: TargetedCallOptions,
  ): Promise<MemberInfo[]> {
    const req = { ID: checkInteger(id, "id", 1), peerURLs: checkPeerUrls(peerUrls) };
    const res = await this.#ctx.caller.call({ method: Cluster.method.memberUpdate, options }, req);
    return res.members.map(toMemberInfo);
  }

  /** Promotes learner `id` to a voting member (etcd refuses until it caught up with the leader). */
  async promote(id: bigint | number, options?: TargetedCallOptions): Promise<MemberInfo[]> {
    const req = { ID: checkInteger(id, "id", 1) };
    const res = await this.#ctx.caller.call({ method: Cluster.method.memberPromote, options }, req);
    return res.members.map(toMemberInfo);
  }
}
