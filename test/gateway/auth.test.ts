import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  AuthFailedError,
  createGatewayTransport,
  Etcd,
  type GatewayTransportOptions,
  InvalidAuthTokenError,
  PermissionDeniedError,
} from "../../src/client/index.js";
import { type EtcdCluster, startEtcd } from "../../src/testing/index.js";
import { collect } from "../support/collect.js";
import { enableAuth } from "../support/etcdctl.js";
import { versionAtLeast } from "../support/server-version.js";
import { until, within } from "../support/wait.js";

// Auth over etcd's JSON gateway (issue 23): the client's token goes out as the `Authorization` header;
// simple tokens expire after `--auth-token-ttl` of disuse. An expired token is refreshed once and the call
// runs once more (the one-refresh rule); a Watch request's token is fixed when it starts, so a watch
// created after expiry is refused and the client reopens the emulated stream with a fresh token.
const ROOT_PW = "root-Gateway-pw-1";
const ALICE_PW = "alice-Gateway-pw-2";
const TOKEN_TTL_S = 2;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

let cluster: EtcdCluster;
let version: string;
const clients: Etcd[] = [];

/** Requests per gateway path of the clients under test, and the Authorization headers they carried. */
const requests = new Map<string, number>();
const authorizations: string[] = [];
const countingFetch = (input: string, init: RequestInit) => {
  const path = new URL(input).pathname;
  requests.set(path, (requests.get(path) ?? 0) + 1);
  const authorization = new Headers(init.headers).get("authorization");
  if (authorization !== null) authorizations.push(authorization);
  return fetch(input, init);
};
const count = (path: string) => requests.get(path) ?? 0;

function client(username: string, password: string, transport: Partial<GatewayTransportOptions> = {}): Etcd {
  const c = new Etcd({
    endpoints: cluster.endpoints,
    auth: { username, password },
    transport: (ep) => createGatewayTransport({ baseUrl: ep.url, fetch: countingFetch, ...transport }),
    streams: { backoff: { initialMs: 20, maxMs: 300 } },
  });
  clients.push(c);
  return c;
}

beforeAll(async () => {
  cluster = await startEtcd({ args: [`--auth-token-ttl=${TOKEN_TTL_S}`] });
  await enableAuth(cluster.endpoint, {
    rootPassword: ROOT_PW,
    role: { name: "gw", grants: [["readwrite", "g/"]], users: [{ username: "alice", password: ALICE_PW }] },
  });
  const root = client("root", ROOT_PW);
  version = (await root.maintenance.status(cluster.endpoint)).version;
});

afterAll(async () => {
  await Promise.all(clients.map((c) => c.close()));
  await cluster?.close();
});

describe("auth over the gateway", { timeout: 60_000 }, () => {
  it("sends the token as Authorization; an expired one is refreshed once and the call runs once more", async () => {
    const alice = client("alice", ALICE_PW);
    await alice.put("g/a", "1");
    const authBefore = count("/v3/auth/authenticate");
    const putsBefore = count("/v3/kv/put");
    // No call for longer than the TTL: the token is stale on the server.
    await sleep((TOKEN_TTL_S + 1.5) * 1000);
    await alice.put("g/a", "2");
    // One refusal, one Authenticate, one more attempt.
    expect(count("/v3/auth/authenticate") - authBefore).toBe(1);
    expect(count("/v3/kv/put") - putsBefore).toBe(2);
    expect((await alice.get("g/a"))?.text()).toBe("2");
    // The bare token, which every etcd reads.
    expect(authorizations.at(-1)).not.toMatch(/^Bearer /);
  });

  it("a watch created after its stream's token expired is created, and the older watch goes on", async () => {
    const alice = client("alice", ALICE_PW);
    const writer = client("root", ROOT_PW);
    const first = collect(alice.watch("g/expiry/a"));
    await until("the first watch to be live", async () => {
      await writer.put("g/expiry/a", "probe");
      return first.keys.length > 0;
    });
    await sleep((TOKEN_TTL_S + 1.5) * 1000);
    const second = collect(alice.watch("g/expiry/b"));
    await until("the watch created after expiry to deliver", async () => {
      await writer.put("g/expiry/b", "probe");
      return second.keys.length > 0;
    });
    const before = first.keys.length;
    await writer.put("g/expiry/a", "after");
    await until("the first watch to go on after the stream reopened", () => first.keys.length > before);
    expect(first.keys.length).toBe(before + 1);
  });

  it("keeps a lease alive with a token that expires between refreshes", async () => {
    const alice = client("alice", ALICE_PW);
    // TTL 9: refreshes every 3 s, longer than the token's 2 s of disuse.
    const lease = await alice.lease.grant(9);
    let refreshes = 0;
    lease.on("keepalive", () => refreshes++);
    await until("two refreshes, each after the token went stale", () => refreshes >= 2, 30_000);
    expect(lease.state).toBe("alive");
    await lease.revoke();
  });

  it("refuses what the user may not do, and wrong credentials, with typed errors", async () => {
    const alice = client("alice", ALICE_PW);
    await expect(alice.put("elsewhere", "x")).rejects.toBeInstanceOf(PermissionDeniedError);
    const wrong = client("alice", "wrong-password");
    await expect(wrong.put("g/x", "x")).rejects.toBeInstanceOf(AuthFailedError);
    const w = wrong.watch("g/x");
    expect(await within(w.closed, "the watch of a wrong password to end")).toBeInstanceOf(AuthFailedError);
  });

  it('authorization: "bearer" works where etcd reads it (3.5.32+, 3.6.13+, 3.7) and is an invalid token before', async () => {
    const bearer = client("alice", ALICE_PW, { authorization: "bearer" });
    const accepted =
      versionAtLeast(version, "3.7.0") ||
      (versionAtLeast(version, "3.6.13") && !versionAtLeast(version, "3.7.0")) ||
      (versionAtLeast(version, "3.5.32") && !versionAtLeast(version, "3.6.0"));
    const result = bearer.put("g/bearer", "v").catch((e: unknown) => e);
    if (accepted) expect(await result).toMatchObject({ revision: expect.any(BigInt) });
    else expect(await result).toBeInstanceOf(InvalidAuthTokenError);
    expect(authorizations.at(-1)).toMatch(/^Bearer /);
  });
});
