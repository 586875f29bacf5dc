import { rm } from "node:fs/promises";
import { join } from "node:path";
import { Code } from "@connectrpc/connect";
import {
  ClosedError,
  DeadlineExceededError,
  InvalidArgumentError,
  sleep,
  UnavailableError,
} from "../client/core/index.js";
import type { Certificates } from "./certificates.js";
import { type Failpoints, failpointsVariable } from "./failpoints.js";
import { EtcdGatewayError, type GatewayTls } from "./gateway.js";
import {
  initialClusterAfterAdd,
  requestMemberAdd,
  requestMemberPromote,
  requestMemberRemove,
} from "./gateway-calls.js";
import { type GatewayCredentials, isAuthRefusal } from "./gateway-login.js";
import { EtcdMember, type MemberTls } from "./member.js";
import { freePort } from "./ports.js";

/** The TLS a cluster runs with: its certificate material and whether clients must show a certificate. */
export interface ClusterTls extends Certificates {
  /** True when members run with `--client-cert-auth` (mTLS). */
  clientCertAuth: boolean;
}

/** Everything an {@link EtcdCluster} needs to create members; filled in by `startEtcd`. */
export interface ClusterSetup {
  /** Temp directory holding every member's data (and the certificates when generated). */
  root: string;
  /** etcd binary. */
  binary: string;
  /** Extra flags for every member. */
  args: string[];
  /** `--initial-cluster-token`. */
  token: string;
  /** TLS of the client URLs. Default none. */
  tls?: ClusterTls | undefined;
  /** Every member also serves clients on a unix socket in `root` (see `EtcdMember.unixClientUrl`). Default false. */
  unixSockets?: boolean | undefined;
  /**
   * Failpoints every member starts with (the binary must be a failpoint build); each member also serves
   * gofail's HTTP endpoint on a free port (`member.setFailpoint()`). Default none.
   */
  failpoints?: Failpoints | undefined;
  /** Called once by `close()` after the root is removed (drops the exit-time cleanup). Default none. */
  onClosed?: (() => void) | undefined;
}

/** Options of {@link EtcdCluster.leader}. */
export interface LeaderOptions {
  /** How long to wait for a member that reports itself as leader, in ms. Default 15000. */
  timeoutMs?: number | undefined;
  /** Stops waiting. Default none. */
  signal?: AbortSignal | undefined;
}

/** Options of {@link EtcdCluster.addMember}. */
export interface AddMemberOptions {
  /** Add it as a learner (promote it later with `promote()`). Default false. */
  learner?: boolean | undefined;
  /** Member name. Default `m<index>`, e.g. `m3`. */
  name?: string | undefined;
  /** Extra flags for this member, after the cluster's. Default none. */
  args?: string[] | undefined;
  /** How long to wait for the new member to serve clients, in ms. Default 30000. */
  readyTimeoutMs?: number | undefined;
  /**
   * How long to keep retrying while etcd refuses the add as "unhealthy cluster" (its strict reconfig
   * check wants every voter connected for 5 s, so right after a start or another add it says no), in ms.
   * Default 15000.
   */
  timeoutMs?: number | undefined;
  /** Stops retrying. Default none. */
  signal?: AbortSignal | undefined;
}

/** Options of {@link EtcdCluster.promote} and {@link EtcdCluster.removeMember}. */
export interface MembershipOptions {
  /**
   * Keep retrying while etcd refuses the change as transient (a learner not yet in sync, or the strict
   * reconfig check's "unhealthy cluster"), for this many ms. Default 15000.
   */
  timeoutMs?: number | undefined;
  /** Stops waiting. Default none. */
  signal?: AbortSignal | undefined;
}

/** A throwaway etcd cluster on loopback ports with its data in a temp directory. */
export class EtcdCluster implements AsyncDisposable {
  /** Members in creation order; `removeMember()` takes one out, `addMember()` appends. */
  readonly members: EtcdMember[];
  readonly #setup: ClusterSetup;
  #nextIndex: number;
  #closed = false;
  /** Members added as learners and not promoted yet: they cannot take membership requests. */
  readonly #learners = new WeakSet<EtcdMember>();
  #credentials: GatewayCredentials | undefined;

  /** Wraps members that `startEtcd` created; use `startEtcd` rather than this constructor. */
  constructor(setup: ClusterSetup, members: EtcdMember[]) {
    this.#setup = setup;
    this.members = members;
    this.#nextIndex = members.length;
  }

  /** Client URLs of every member, in member order. */
  get endpoints(): string[] {
    return this.members.map((m) => m.clientUrl);
  }

  /**
   * The unix socket client URLs of every member, in member order (`unix://` or, with TLS, `unixs://`);
   * empty unless the cluster was started with `unixSocket: true`.
   */
  get unixEndpoints(): string[] {
    return this.members.flatMap((m) => (m.unixClientUrl === undefined ? [] : [m.unixClientUrl]));
  }

  /** Client URL of the first member. */
  get endpoint(): string {
    return this.members[0]!.clientUrl;
  }

  /** The temp directory that holds every member's data. */
  get root(): string {
    return this.#setup.root;
  }

  /** Certificate material when the cluster runs TLS (`ca` for clients; `clientCert`/`clientKey` for mTLS). */
  get tls(): ClusterTls | undefined {
    return this.#setup.tls;
  }

  /**
   * The user the kit authenticates as for its own calls once you turned auth on: `leader()`,
   * `member.status()`, and `addMember()`/`promote()`/`removeMember()` (these need the root role).
   * etcd 3.4.42+, 3.5.28+ and 3.6.9+ answer Maintenance/Status only with a token when auth is on; starts
   * and restarts never need one. Applies to every member, those added later too; `undefined` stops
   * authenticating. Default none.
   */
  useCredentials(credentials: GatewayCredentials | undefined): void {
    this.#credentials = credentials;
    for (const member of this.members) member.useCredentials(credentials);
  }

  /**
   * Waits until a running, unfrozen member reports itself as leader (Maintenance/Status through the
   * gateway) and returns it. A member that only hears of a leader is not enough: after a leader dies
   * the others still name it until they time out. With auth on and no `useCredentials`, fails at once
   * with the refusal (no leader could ever be seen).
   */
  async leader(options: LeaderOptions = {}): Promise<EtcdMember> {
    const { timeoutMs = 15_000, signal } = options;
    const deadline = Date.now() + timeoutMs;
    let lastError: unknown;
    for (;;) {
      signal?.throwIfAborted();
      const live = this.members.filter((m) => m.running && !m.frozen);
      const answers = await Promise.allSettled(live.map((m) => m.status({ timeoutMs: 2_000, signal })));
      let best: { member: EtcdMember; term: bigint } | undefined;
      const refused = answers.find((a) => a.status === "rejected" && isAuthRefusal(a.reason));
      if (refused?.status === "rejected" && this.#credentials === undefined) throw refused.reason;
      answers.forEach((a, i) => {
        if (a.status === "rejected") {
          lastError = a.reason;
          return;
        }
        const s = a.value;
        if (s.leader !== 0n && s.leader === s.memberId && (!best || s.raftTerm > best.term))
          best = { member: live[i]!, term: s.raftTerm };
      });
      if (best) return best.member;
      if (Date.now() > deadline) {
        throw new DeadlineExceededError(
          `no member of the cluster reported itself as leader within ${timeoutMs} ms`,
          {
            code: Code.DeadlineExceeded,
            cause: lastError,
          },
        );
      }
      // A wait cut short by `signal` fails with its reason.
      await sleep(200, signal);
      signal?.throwIfAborted();
    }
  }

  /**
   * Adds a member: Cluster/MemberAdd through a live member, then starts the new one with
   * `--initial-cluster-state=existing` and the initial cluster the add response implies. Resolves once
   * it serves clients (its `memberId` known). If it cannot start, it is removed from the cluster again.
   */
  async addMember(options: AddMemberOptions = {}): Promise<EtcdMember> {
    const via = this.#liveMember();
    const name = options.name ?? `m${this.#nextIndex}`;
    const member = await this.#createMember(name, options.args ?? []);
    const added = await retryReconfiguration(options, (signal) =>
      via.callGateway((o) => requestMemberAdd(via.clientUrl, [member.peerUrl], options.learner ?? false, o), {
        signal,
      }),
    );
    member.configure(
      initialClusterAfterAdd(added.members, added.member.id, name),
      "existing",
      added.member.id,
    );
    this.members.push(member);
    if (options.learner) this.#learners.add(member);
    try {
      await member.start({ timeoutMs: options.readyTimeoutMs ?? 30_000 });
    } catch (err) {
      await via.callGateway((o) => requestMemberRemove(via.clientUrl, added.member.id, o)).catch(() => {});
      await this.#forget(member);
      throw err;
    }
    return member;
  }

  /** Promotes a learner to a voting member, retrying while etcd says it is not yet in sync. */
  async promote(member: EtcdMember, options: MembershipOptions = {}): Promise<void> {
    const id = await this.#memberIdOf(member);
    await retryReconfiguration(options, (signal) => {
      const via = this.#liveMember();
      return via.callGateway((o) => requestMemberPromote(via.clientUrl, id, o), { signal });
    });
    this.#learners.delete(member);
  }

  /**
   * Removes a member: Cluster/MemberRemove through another live member (itself if it is the last), then
   * kills it, deletes its data and drops it from `members`. Retries while etcd's strict reconfig check
   * calls the cluster unhealthy.
   */
  async removeMember(member: EtcdMember, options: MembershipOptions = {}): Promise<void> {
    if (!this.members.includes(member))
      throw new InvalidArgumentError("member", `${member.name} is not a member of this cluster`);
    const id = await this.#memberIdOf(member);
    await retryReconfiguration(options, (signal) => {
      const via = this.#liveMember(member) ?? member;
      return via.callGateway((o) => requestMemberRemove(via.clientUrl, id, o), { signal });
    });
    await this.#forget(member);
  }

  /**
   * Creates a member that is not yet part of the cluster (call Cluster/MemberAdd with its peerUrl, then
   * `start()` it): it starts with `--initial-cluster-state=existing` and the given initial cluster.
   * `addMember()` does all of this; this is for tests that drive MemberAdd themselves.
   */
  async prepareMember(
    initialCluster: string,
    options: { name?: string; args?: string[] } = {},
  ): Promise<EtcdMember> {
    const member = await this.#createMember(options.name ?? `m${this.#nextIndex}`, options.args ?? []);
    member.configure(initialCluster, "existing");
    this.members.push(member);
    return member;
  }

  /** Creates the cluster's members; `startEtcd` uses it before the first start. */
  async createMember(name: string): Promise<EtcdMember> {
    const member = await this.#createMember(name, []);
    this.members.push(member);
    return member;
  }

  /**
   * Thaws frozen members, kills every member and removes the temp directory; safe to call twice. Every
   * step runs even if an earlier one fails, so nothing is left running or stopped.
   */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    for (const m of this.members) {
      if (m.frozen && m.running) {
        try {
          m.thaw();
        } catch {
          // It died meanwhile; kill() below is a no-op then.
        }
      }
    }
    await Promise.allSettled(this.members.map((m) => m.kill()));
    await rm(this.#setup.root, { recursive: true, force: true });
    this.#setup.onClosed?.();
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  async #createMember(name: string, extraArgs: string[]): Promise<EtcdMember> {
    if (this.#closed) throw new ClosedError("the cluster is closed");
    this.#nextIndex++;
    const { root, binary, args, token, tls, unixSockets, failpoints } = this.#setup;
    const [clientPort, peerPort] = [await freePort(), await freePort()];
    const failpointAddress = failpoints && `127.0.0.1:${await freePort()}`;
    const scheme = tls ? "https" : "http";
    const peerUrl = `http://127.0.0.1:${peerPort}`;
    const memberTls: MemberTls | undefined = tls && {
      certFile: tls.certFile,
      keyFile: tls.keyFile,
      caFile: tls.caFile,
      clientCertAuth: tls.clientCertAuth,
    };
    const clientTls: GatewayTls | undefined = tls && {
      ca: tls.ca,
      ...(tls.clientCertAuth ? { cert: tls.clientCert, key: tls.clientKey } : {}),
    };
    const member = new EtcdMember({
      name,
      binary,
      dataDir: join(root, name),
      clientUrl: `${scheme}://127.0.0.1:${clientPort}`,
      peerUrl,
      initialCluster: `${name}=${peerUrl}`,
      initialClusterState: "new",
      clusterToken: token,
      extraArgs: [...args, ...extraArgs],
      tls: memberTls,
      clientTls,
      // `unix://host:port` names a file in etcd's working directory: the one form etcd 3.4 accepts too.
      unixSocket: unixSockets ? { dir: root, file: `localhost:${clientPort}` } : undefined,
      ...(failpoints && failpointAddress
        ? {
            env: { GOFAIL_FAILPOINTS: failpointsVariable(failpoints), GOFAIL_HTTP: failpointAddress },
            failpointUrl: `http://${failpointAddress}`,
          }
        : {}),
    });
    member.useCredentials(this.#credentials);
    return member;
  }

  /** A running, unfrozen voting member to send membership changes through, other than `except`. */
  #liveMember(except: EtcdMember): EtcdMember | undefined;
  #liveMember(): EtcdMember;
  #liveMember(except?: EtcdMember): EtcdMember | undefined {
    const live = this.members.find(
      (m) => m !== except && m.running && !m.frozen && m.memberId !== undefined && !this.#learners.has(m),
    );
    if (!live && !except)
      throw new UnavailableError("no running voting member to send the request to", {
        code: Code.Unavailable,
      });
    return live;
  }

  async #memberIdOf(member: EtcdMember): Promise<bigint> {
    if (member.memberId !== undefined) return member.memberId;
    return (await member.status()).memberId;
  }

  async #forget(member: EtcdMember): Promise<void> {
    const index = this.members.indexOf(member);
    if (index >= 0) this.members.splice(index, 1);
    await member.destroy();
  }
}

/**
 * etcd refuses membership changes for a while after a start or another change ("unhealthy cluster",
 * "not enough started members": its strict reconfig check wants voters connected for 5 s) and refuses to
 * promote a learner until it caught up ("in sync"); these are retried until `timeoutMs`, others thrown.
 */
async function retryReconfiguration<T>(
  options: { timeoutMs?: number; signal?: AbortSignal },
  request: (signal: AbortSignal | undefined) => Promise<T>,
): Promise<T> {
  const { timeoutMs = 15_000, signal } = options;
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await request(signal);
    } catch (err) {
      const transient =
        err instanceof EtcdGatewayError &&
        /unhealthy cluster|not enough started members|in sync/i.test(err.message);
      if (!transient || Date.now() > deadline) throw err;
    }
    await sleep(250, signal);
    signal?.throwIfAborted();
  }
}
