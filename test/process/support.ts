import { createClient, type Transport } from "@connectrpc/connect";
import { createHttp2Transport, Etcd, prefixRangeEnd } from "../../src/client/index.js";
import { Auth } from "../../src/gen/etcdserverpb/rpc_pb.js";
import { type EtcdCluster, type EtcdMember, FaultProxy, startEtcd } from "../../src/testing/index.js";
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
 * non-root user (the child's) gets `permission` on `prefix` only.
 */
export async function startProcessCluster(options: {
  auth: boolean;
  prefix: string;
  permission: "read" | "readwrite";
}): Promise<ProcessCluster> {
  const cluster = await startEtcd(options.auth ? { args: [`--auth-token-ttl=${TOKEN_TTL_S}`] } : {});
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
