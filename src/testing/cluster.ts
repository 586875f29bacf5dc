import { randomBytes } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { EtcdUnavailableError, findEtcdBinary } from "./binary.js";
import { EtcdMember } from "./member.js";
import { freePort } from "./ports.js";

/** Options of {@link startEtcd}. */
export interface StartEtcdOptions {
  /** Number of members. Default 1. */
  members?: number;
  /** etcd binary; default `ETCD_BIN`, else `etcd` on PATH. */
  binary?: string;
  /** Extra flags for every member, e.g. `["--auth-token-ttl=2"]`. Default none. */
  args?: string[];
  /** How long to wait for the cluster to serve clients, in ms. Default 30000. */
  readyTimeoutMs?: number;
}

/** A throwaway etcd cluster on loopback ports with its data in a temp directory. */
export class EtcdCluster implements AsyncDisposable {
  readonly members: EtcdMember[];
  readonly #root: string;
  readonly #binary: string;
  readonly #args: string[];
  readonly #token: string;
  #closed = false;

  constructor(root: string, binary: string, args: string[], token: string, members: EtcdMember[]) {
    this.#root = root;
    this.#binary = binary;
    this.#args = args;
    this.#token = token;
    this.members = members;
  }

  /** Client URLs of every member, in member order. */
  get endpoints(): string[] {
    return this.members.map((m) => m.clientUrl);
  }

  /** Client URL of the first member. */
  get endpoint(): string {
    return this.members[0]!.clientUrl;
  }

  /** The temp directory that holds every member's data. */
  get root(): string {
    return this.#root;
  }

  /**
   * Creates a member that is not yet part of the cluster (call Cluster/MemberAdd with its peerUrl, then
   * `start()` it): it starts with `--initial-cluster-state=existing` and the given initial cluster.
   */
  async prepareMember(
    initialCluster: string,
    options: { name?: string; args?: string[] } = {},
  ): Promise<EtcdMember> {
    const name = options.name ?? `m${this.members.length}`;
    const member = await createMember(this.#root, this.#binary, name, this.#token, [
      ...this.#args,
      ...(options.args ?? []),
    ]);
    member.configure(initialCluster, "existing");
    this.members.push(member);
    return member;
  }

  /** Kills every member and removes the temp directory; safe to call twice. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await Promise.all(this.members.map((m) => m.kill()));
    await rm(this.#root, { recursive: true, force: true });
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }
}

/** Starts a throwaway etcd (one member or a cluster) from a local binary and waits until it serves clients. */
export async function startEtcd(options: StartEtcdOptions = {}): Promise<EtcdCluster> {
  const count = options.members ?? 1;
  if (!Number.isInteger(count) || count < 1)
    throw new RangeError(`members must be an integer >= 1, got ${count}`);
  const binary = options.binary ?? findEtcdBinary();
  if (!binary) {
    throw new EtcdUnavailableError(
      "no etcd to start: set ETCD_BIN to an etcd binary, put `etcd` on PATH (Debian: apt-get install etcd-server), " +
        "or run a Docker engine for the testcontainers path",
    );
  }
  const root = await mkdtemp(join(tmpdir(), "etcd-ts-"));
  const token = `etcd-ts-${randomBytes(6).toString("hex")}`;
  const args = options.args ?? [];
  const members: EtcdMember[] = [];
  const cluster = new EtcdCluster(root, binary, args, token, members);
  try {
    for (let i = 0; i < count; i++) members.push(await createMember(root, binary, `m${i}`, token, args));
    const initialCluster = members.map((m) => `${m.name}=${m.peerUrl}`).join(",");
    for (const m of members) m.configure(initialCluster, "new");
    await Promise.all(members.map((m) => m.start({ timeoutMs: options.readyTimeoutMs ?? 30_000 })));
    return cluster;
  } catch (err) {
    await cluster.close();
    throw err;
  }
}

async function createMember(
  root: string,
  binary: string,
  name: string,
  token: string,
  extraArgs: string[],
): Promise<EtcdMember> {
  const [clientPort, peerPort] = [await freePort(), await freePort()];
  return new EtcdMember({
    name,
    binary,
    dataDir: join(root, name),
    clientUrl: `http://127.0.0.1:${clientPort}`,
    peerUrl: `http://127.0.0.1:${peerPort}`,
    initialCluster: `${name}=http://127.0.0.1:${peerPort}`,
    initialClusterState: "new",
    clusterToken: token,
    extraArgs,
  });
}
