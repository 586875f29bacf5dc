import { Code } from "@connectrpc/connect";
import {
  AlarmRequest_AlarmAction,
  DowngradeRequest_DowngradeAction,
  Maintenance,
  type StatusResponse,
} from "../../gen/etcdserverpb/rpc_pb.js";
import type { AdminContext } from "../call/admin-context.js";
import type { CallOptions, TargetedCallOptions } from "../call-options.js";
import { ClusterClient } from "../cluster/cluster-client.js";
import {
  InvalidArgumentError,
  NoLeaderError,
  NotSupportedError,
  notSupportedBefore,
  toEtcdError,
} from "../core/errors.js";
import { checkInteger } from "../core/validation.js";
import { usableClientUrls } from "../transport/endpoint-address.js";
import { alarmsFromWire, alarmToWire } from "./alarm.js";
import { snapshotChunks } from "./snapshot.js";
import type {
  AlarmInfo,
  DowngradeAction,
  EndpointStatus,
  HashKVResult,
  HashResult,
  MemberStatusResult,
  MoveLeaderOptions,
  SnapshotFileResult,
  SnapshotOptions,
} from "./types.js";

const DOWNGRADE_ACTIONS: Readonly<Record<DowngradeAction, DowngradeRequest_DowngradeAction>> = {
  validate: DowngradeRequest_DowngradeAction.VALIDATE,
  enable: DowngradeRequest_DowngradeAction.ENABLE,
  cancel: DowngradeRequest_DowngradeAction.CANCEL,
};

/**
 * Maintenance (`etcd.maintenance`): per-member status, alarms, defragment, hashes, snapshots, leader
 * transfer and downgrade. Calls that concern one member take its client URL as `endpoint`.
 */
export class MaintenanceClient {
  readonly #ctx: AdminContext;
  readonly #cluster: ClusterClient;

  /** @internal Made by `Etcd`; use `etcd.maintenance`. */
  constructor(ctx: AdminContext) {
    this.#ctx = ctx;
    this.#cluster = new ClusterClient(ctx);
  }

  /**
   * Status of the member at `endpoint` (default: the pinned endpoint, with failover). The version it
   * reports is what the client then knows of that endpoint's server (until its connection is replaced).
   */
  async status(endpoint?: string, options?: CallOptions): Promise<EndpointStatus> {
    const answeredBy: { endpoint?: string } = {};
    const res = await this.#ctx.caller.call(
      { method: Maintenance.method.status, options: { ...options, endpoint }, hasleader: false },
      {},
      answeredBy,
    );
    const answered = answeredBy.endpoint ?? endpoint ?? "";
    this.#ctx.pool.serverOf(answered)?.record(res.version);
    return toEndpointStatus(res, answered);
  }

  /**
   * Status of every member in the member list, asked in parallel at its first client URL the client can
   * use (a scheme of its endpoints, else the same security). A member that does not answer has `error`
   * set instead of `status`.
   */
  async statusAll(options?: CallOptions): Promise<MemberStatusResult[]> {
    const members = await this.#cluster.list(options);
    const configured = this.#ctx.pool.endpoints.all;
    return Promise.all(
      members.map(async (member): Promise<MemberStatusResult> => {
        const endpoint = usableClientUrls(member.clientUrls, configured)[0];
        if (endpoint === undefined) return { member, endpoint, status: undefined, error: undefined };
        try {
          return { member, endpoint, status: await this.status(endpoint, options), error: undefined };
        } catch (err) {
          return { member, endpoint, status: undefined, error: toEtcdError(err, endpoint) };
        }
      }),
    );
  }

  /** The active alarms of every member. */
  async alarms(options?: TargetedCallOptions): Promise<AlarmInfo[]> {
    const req = { action: AlarmRequest_AlarmAction.GET };
    const res = await this.#ctx.caller.call({ method: Maintenance.method.alarm, options }, req);
    return alarmsFromWire(res.alarms);
  }

  /**
   * Clears `alarm` (or, without it, every active alarm, as `etcdctl alarm disarm` does); returns the
   * alarms cleared. Clear NOSPACE only after compact + defragment freed space, or it comes back.
   */
  async disarm(alarm?: AlarmInfo, options?: TargetedCallOptions): Promise<AlarmInfo[]> {
    const targets = alarm === undefined ? await this.alarms(options) : [alarm];
    const cleared: AlarmInfo[] = [];
    for (const a of targets) {
      const req = {
        action: AlarmRequest_AlarmAction.DEACTIVATE,
        memberID: checkInteger(a.memberId, "alarm.memberId"),
        alarm: alarmToWire(a.alarm, "alarm.alarm"),
      };
      const res = await this.#ctx.caller.call({ method: Maintenance.method.alarm, options }, req);
      cleared.push(...alarmsFromWire(res.alarms));
    }
    return cleared;
  }

  /**
   * Defragments the backend of the member at `endpoint`, giving the space compaction freed back to the
   * file system. The member serves nothing while it runs: do one member at a time.
   */
  async defragment(endpoint: string, options?: CallOptions): Promise<void> {
    await this.#ctx.caller.call(
      {
        method: Maintenance.method.defragment,
        options: { ...options, endpoint: checkEndpoint(endpoint) },
        hasleader: false,
      },
      {},
    );
  }

  /** Hash of the whole backend of the member at `endpoint` (for comparing members; testing). */
  async hash(endpoint: string, options?: CallOptions): Promise<HashResult> {
    const target = { ...options, endpoint: checkEndpoint(endpoint) };
    const res = await this.#ctx.caller.call(
      { method: Maintenance.method.hash, options: target, hasleader: false },
      {},
    );
    return { hash: res.hash, memberId: res.header?.memberId ?? 0n, revision: res.header?.revision ?? 0n };
  }

  /**
   * Hash of the key-value history up to `revision` (default 0: the latest) of the member at `endpoint`.
   * Members at the same revision with the same compaction give the same hash.
   */
  async hashKV(
    endpoint: string,
    revision: number | bigint = 0,
    options?: CallOptions,
  ): Promise<HashKVResult> {
    const target = { ...options, endpoint: checkEndpoint(endpoint) };
    const req = { revision: checkInteger(revision, "revision") };
    const res = await this.#ctx.caller.call(
      { method: Maintenance.method.hashKV, options: target, hasleader: false },
      req,
    );
    return {
      hash: res.hash,
      compactRevision: res.compactRevision,
      hashRevision: res.hashRevision,
      memberId: res.header?.memberId ?? 0n,
      revision: res.header?.revision ?? 0n,
    };
  }

  /**
   * A snapshot of one member's backend as an async iterable of chunks (see `snapshotToFile`). The
   * transfer runs while you iterate; break out of the loop or abort `signal` to stop it.
   */
  snapshot(options?: SnapshotOptions): AsyncIterable<Uint8Array> {
    return snapshotChunks(this.#ctx, options);
  }

  /**
   * Streams a snapshot into `path` (through `path.part`, renamed once complete, so `path` never holds a
   * partial snapshot). The file is what `etcdctl snapshot status|restore` reads.
   */
  async snapshotToFile(path: string, options?: SnapshotOptions): Promise<SnapshotFileResult> {
    if (typeof path !== "string" || path === "")
      throw new InvalidArgumentError("path", "must be a file path");
    const write = this.#ctx.writeSnapshotFile;
    if (write === undefined)
      throw new NotSupportedError(
        "snapshotToFile needs a file system, which etcd-ts/web does not have: iterate maintenance.snapshot() instead",
        { code: Code.Unimplemented },
      );
    return { path, bytes: await write(path, this.snapshot(options)) };
  }

  /**
   * Hands leadership to member `targetId`. The request must reach the current leader: it is found by
   * asking every member's status, then sent there.
   */
  async moveLeader(targetId: bigint | number, options?: MoveLeaderOptions): Promise<void> {
    const req = { targetID: checkInteger(targetId, "targetId", 1) };
    const all = await this.statusAll(options);
    const leader = all.find((s) => s.status?.isLeader);
    if (!leader?.endpoint)
      throw new NoLeaderError("no member reported itself as leader", { code: Code.Unavailable });
    // Only a leader can hand leadership on: always `hasleader`.
    const spec = {
      method: Maintenance.method.moveLeader,
      options: { ...options, endpoint: leader.endpoint },
    };
    await this.#ctx.caller.call({ ...spec, hasleader: true }, req);
  }

  /**
   * Cluster downgrade (etcd >= 3.5): validate or enable a downgrade to `version` (e.g. `"3.5"`), or
   * cancel one. Returns the cluster version the server reports. etcd 3.4 answers `NotSupportedError`.
   */
  async downgrade(
    action: DowngradeAction,
    version = "",
    options?: TargetedCallOptions,
  ): Promise<{ version: string }> {
    const wire = DOWNGRADE_ACTIONS[action];
    if (wire === undefined) throw new InvalidArgumentError("action", `must be validate, enable or cancel`);
    if (action !== "cancel" && (typeof version !== "string" || !/^\d+\.\d+(\.\d+)?$/.test(version)))
      throw new InvalidArgumentError(
        "version",
        `must be a version like "3.5", got ${JSON.stringify(version)}`,
      );
    try {
      const res = await this.#ctx.caller.call(
        { method: Maintenance.method.downgrade, options },
        { action: wire, version },
      );
      return { version: res.version };
    } catch (err) {
      throw notSupportedBefore(err, "Maintenance/Downgrade", "3.5");
    }
  }
}

function checkEndpoint(endpoint: string): string {
  if (typeof endpoint !== "string" || endpoint === "")
    throw new InvalidArgumentError("endpoint", "the client URL of the member is required");
  return endpoint;
}

function toEndpointStatus(res: StatusResponse, endpoint: string): EndpointStatus {
  const memberId = res.header?.memberId ?? 0n;
  return {
    memberId,
    leader: res.leader,
    isLeader: res.leader !== 0n && res.leader === memberId,
    isLearner: res.isLearner,
    revision: res.header?.revision ?? 0n,
    raftTerm: res.raftTerm,
    raftIndex: res.raftIndex,
    raftAppliedIndex: res.raftAppliedIndex,
    dbSize: res.dbSize,
    dbSizeInUse: res.dbSizeInUse,
    version: res.version,
    errors: [...res.errors],
    endpoint,
  };
}
