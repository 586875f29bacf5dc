import { createClient, type Transport } from "@connectrpc/connect";
import { createHttp2Transport, Etcd, prefixRangeEnd } from "../../src/client/index.js";
import { Auth } from "../../src/gen/etcdserverpb/rpc_pb.js";
import { type EtcdCluster, type EtcdMember, FaultProxy, startEtcd } from "../../src/testing/index.js";
import type { Child } from "../support/child.js";
import { enableAuth } from "../support/etcdctl.js";
import { type HistoryEvent, readHistory } from "../support/history.js";

/** Simple tokens expire after this many seconds without use (`--auth-token-ttl`). */
export const TOKEN_TTL_S = 2;
const ROOT = { username: "root", password: "root-Secret-pw-123" };

/**
 * One etcd member for a child process to reach through a {@link FaultProxy}, and a client of the test's
 * own that talks to etcd directly (root when auth is on).
 */
export interface ProcessCluster {
  readonly cluster: EtcdCluster;
  readonly member: EtcdMember;
  /** What the child connects to. */
  readonly proxy: FaultProxy;
  /** The test's own client, straight to etcd (never through the proxy). */
  readonly admin: Etcd;
  /** The credentials the child uses; undefined with auth off. */
  readonly childAuth: { username: string; password: string } | undefined;
  close(): Promise<void>;
}

/**
 * Starts a member and a proxy in front of it. With `auth`, simple tokens live {@link TOKEN_TTL_S} s, and a
 * non-root user (the child's) gets `permission` on `prefix` only. `args` are more etcd flags (a browser
 * page's `--cors` origin, say).
 */
export async function startProcessCluster(options: {
  auth: boolean;
  prefix: string;
  permission: "read" | "readwrite";
  args?: string[];
  /** The etcd line (`"3.6"`, say); default the kit's (`ETCD_VERSION`). */
  version?: string | undefined;
}): Promise<ProcessCluster> {
  const cluster = await startEtcd({
    version: options.version,
    args: [...(options.auth ? [`--auth-token-ttl=${TOKEN_TTL_S}`] : []), ...(options.args ?? [])],
  });
  let proxy: FaultProxy | undefined;
  try {
    let childAuth: ProcessCluster["childAuth"];
    if (options.auth) {
      childAuth = { username: "app", password: "app-Secret-pw-456" };
      await enableAuth(cluster.endpoint, {
        rootPassword: ROOT.password,
        role: { name: "app-role", grants: [[options.permission, options.prefix]], users: [childAuth] },
      });
    }
    proxy = await FaultProxy.start(cluster.endpoint);
    const admin = new Etcd({ endpoints: cluster.endpoint, auth: options.auth ? ROOT : undefined });
    const started = proxy;
    return {
      cluster,
      member: cluster.members[0]!,
      proxy,
      admin,
      childAuth,
      async close() {
        await admin.close();
        await started.close();
        await cluster.close();
      },
    };
  } catch (err) {
    await proxy?.close();
    await cluster.close();
    throw err;
  }
}

/**
 * Puts `key` with the test's own client, retrying a few times: right after a restart the first attempt
 * may meet the old, dead connection. A retried put may land twice; the store's history is what counts.
 */
export async function write(pc: ProcessCluster, key: string, value = "v"): Promise<bigint> {
  let last: unknown;
  for (let attempt = 0; attempt < 10; attempt++) {
    try {
      return (await pc.admin.put(key, value)).revision;
    } catch (err) {
      last = err;
      await sleep(200);
    }
  }
  throw new Error(`the test's own write of ${key} kept failing: ${String(last)}`);
}

/** Kills the member (SIGKILL, a crash) and starts it again on the same port and data. */
export async function crashAndRestart(pc: ProcessCluster): Promise<void> {
  await pc.member.kill();
  await pc.member.start();
}

/** What {@link cutWhileFollowing} runs. */
export interface FollowingFaults {
  /** Connection cuts, each after one change. */
  readonly cuts: number;
  /** After these cuts etcd is SIGKILLed and restarted (a write under `prefix` before and after each). */
  readonly restartAfter: ReadonlySet<number>;
  /** With auth, the test idles past the token TTL before these cuts, so the child's cached token is stale. */
  readonly idleBefore: ReadonlySet<number>;
  readonly auth: boolean;
  readonly prefix: string;
  /** Makes the change before cut `cut` and returns its revision. */
  change(cut: number): Promise<bigint>;
  /** Resolves once the child delivered `revision` (or later); `what` names it when it hangs. */
  delivered(revision: bigint, what: string): Promise<unknown>;
}

/**
 * The faults a program that follows a prefix (a watch, a cache) lives through: one change per cut; every
 * other cut hits a caught-up stream (after the child delivered the change, and with auth after idling past
 * the token TTL where asked), the others a connection that may still be resuming, with an event in flight;
 * etcd crashes and restarts after the cuts in `restartAfter`.
 */
export async function cutWhileFollowing(
  pc: ProcessCluster,
  child: Child,
  faults: FollowingFaults,
): Promise<void> {
  const { proxy } = pc;
  for (let cut = 1; cut <= faults.cuts; cut++) {
    const revision = await faults.change(cut);
    if (cut % 2 === 0) {
      await faults.delivered(revision, `the change at revision ${revision}, before cut ${cut}`);
      if (faults.auth && faults.idleBefore.has(cut)) await sleep((TOKEN_TTL_S + 1) * 1000);
    } else {
      await child.until(`a connection to the proxy before cut ${cut}`, () => proxy.connections > 0);
    }
    proxy.cut();
    if (faults.restartAfter.has(cut)) {
      await write(pc, `${faults.prefix}before-crash-${cut}`);
      await crashAndRestart(pc);
      await write(pc, `${faults.prefix}after-crash-${cut}`);
    }
  }
}

/** The store's own history of keys under `prefix` in `[from, to]` (an event at `to` must exist). */
export async function storeHistory(
  pc: ProcessCluster,
  prefix: string,
  from: bigint,
  to: bigint,
): Promise<HistoryEvent[]> {
  const transport = createHttp2Transport({ baseUrl: pc.cluster.endpoint });
  try {
    const key = new TextEncoder().encode(prefix);
    const authed = pc.childAuth ? await withToken(transport) : transport;
    return await readHistory(authed, {
      key,
      rangeEnd: prefixRangeEnd(key),
      fromRevision: from,
      toRevision: to,
    });
  } finally {
    await transport.close();
  }
}

/** `transport` with root's token on every stream (readHistory only opens streams). */
async function withToken(transport: Transport): Promise<Transport> {
  const { token } = await createClient(Auth, transport).authenticate({
    name: ROOT.username,
    password: ROOT.password,
  });
  return {
    unary: transport.unary.bind(transport),
    stream(method, signal, timeoutMs, header, input, context) {
      const headers = new Headers(header);
      headers.set("token", token);
      return transport.stream(method, signal, timeoutMs, headers, input, context);
    },
  };
}

export { until } from "../support/wait.js";

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
