import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  AuthFailedError,
  Etcd,
  type EtcdOptions,
  LeaseLostError,
  WatchCanceledError,
} from "../../src/client/index.js";
import { type EtcdCluster, startEtcd } from "../../src/testing/index.js";
import { CallTap } from "../support/call-tap.js";
import { collect } from "../support/collect.js";
import { enableAuth } from "../support/etcdctl.js";
import { versionAtLeast } from "../support/server-version.js";
import { until, within } from "../support/wait.js";

/**
 * Streams and auth (simple tokens, `--auth-token-ttl 2`): a Watch stream's token is fixed when it opens
 * and dies with its member or its TTL; the client must reopen streams with a fresh token and resume,
 * and only credentials that are really wrong end them.
 */
const ROOT_PW = "root-Stream-pw-1";
const ALICE_PW = "alice-Stream-pw-2";
const TOKEN_TTL_S = 2;

let cluster: EtcdCluster;
let root: Etcd;
const clients: Etcd[] = [];
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function client(username: string, password: string, extra: Partial<EtcdOptions> = {}): Etcd {
  const c = new Etcd({
    endpoints: cluster.endpoints,
    auth: { username, password },
    streams: { backoff: { initialMs: 20, maxMs: 300 } },
    ...extra,
  });
  clients.push(c);
  return c;
}

beforeAll(async () => {
  cluster = await startEtcd({ args: [`--auth-token-ttl=${TOKEN_TTL_S}`] });
  const ep = cluster.endpoint;
  await enableAuth(ep, {
    rootPassword: ROOT_PW,
    role: {
      name: "streams",
      grants: [["readwrite", "s/"]],
      users: ["alice", "bob"].map((username) => ({ username, password: ALICE_PW })),
    },
  });
  root = client("root", ROOT_PW);
});

afterAll(async () => {
  await Promise.all(clients.map((c) => c.close()));
  await cluster?.close();
});

describe("streams with auth", { timeout: 90_000 }, () => {
  it("a watch created after its stream's token expired is created, and the older watch goes on", async () => {
    const alice = client("alice", ALICE_PW);
    const first = collect(alice.watch("s/expiry/a"));
    await until("the first watch to be live", async () => {
      await alice.put("s/expiry/a", "probe");
      return first.keys.length > 0;
    });
    // No call for longer than the token TTL: the stream's token is now stale on the server.
    await sleep((TOKEN_TTL_S + 1.5) * 1000);
    const second = collect(alice.watch("s/expiry/b"));
    await until("the watch created on the stale stream to deliver", async () => {
      await root.put("s/expiry/b", "probe");
      return second.keys.length > 0;
    });
    const before = first.keys.length;
    await root.put("s/expiry/a", "after");
    await until("the first watch to go on after the stream reopened", () => first.keys.length > before);
    expect(first.keys.length).toBe(before + 1);
  });

  it("watches and kept-alive leases come back after the member restarts (its tokens die with it)", async () => {
    const alice = client("alice", ALICE_PW);
    const start = (await root.put("s/restart/!start", "x")).revision + 1n;
    const watch = collect(alice.watch({ prefix: "s/restart/" }, { startRevision: start }));
    // TTL 6: its local deadline (5.5 s after a keepalive is sent) outlasts a member restart on a busy
    // machine; with 3 s, a restart slower than 2.5 s loses it on the client side before the stream is back.
    const lease = await alice.lease.grant(6);
    const written: string[] = [];
    for (let round = 0; round < 2; round++) {
      for (let i = 0; i < 5; i++) {
        const key = `s/restart/${round}-${i}`;
        await root.put(key, "v");
        written.push(key);
      }
      await cluster.members[0]!.kill();
      await cluster.members[0]!.start();
      for (let i = 0; i < 5; i++) {
        const key = `s/restart/${round}-after-${i}`;
        await root.put(key, "v");
        written.push(key);
      }
    }
    // Kept alive across both restarts: renewed (twice, so on a stream that goes on) after the last one.
    let renewed = 0;
    lease.on("keepalive", () => renewed++);
    await until(`all ${written.length} events`, () => watch.keys.length >= written.length);
    expect(watch.keys).toEqual(written);
    await until("two renewals after the last restart", () => renewed >= 2 || lease.state !== "alive");
    expect(lease.state).toBe("alive");
    expect((await alice.lease.timeToLive(lease.id)).ttl).toBeGreaterThan(0);
  });

  it("a create the server refuses for permissions ends that watch (after one fresh stream), naming the endpoint", async () => {
    const alice = client("alice", ALICE_PW);
    const ok = collect(alice.watch("s/perm/"));
    const denied = alice.watch("forbidden/key");
    const error = await denied.closed;
    expect(error).toBeInstanceOf(WatchCanceledError);
    expect((error as WatchCanceledError).reason).toMatch(/permission denied/);
    expect((error as WatchCanceledError).endpoint).toBe(cluster.endpoint);
    await until("the permitted watch to deliver", async () => {
      await root.put("s/perm/", "v");
      return ok.keys.length > 0;
    });
  });

  it("wrong credentials end watches and leases with AuthFailedError, without an Authenticate loop", async () => {
    const tap = new CallTap();
    const bob = tap.client({
      endpoints: cluster.endpoints,
      auth: { username: "bob", password: ALICE_PW },
      streams: { backoff: { initialMs: 20, maxMs: 300 } },
    });
    clients.push(bob);
    const watch = collect(bob.watch("s/bob/"));
    const lease = await bob.lease.grant(30);
    const lost = lease.closed;
    await until("bob's watch to be live", async () => {
      await root.put("s/bob/", "v");
      return watch.keys.length > 0;
    });
    // The password changes elsewhere; the member restart kills every token, so the Watch stream must
    // authenticate again to create its watch.
    await root.auth.users.changePassword("bob", "another-Password-3");
    await cluster.members[0]!.kill();
    await cluster.members[0]!.start();
    const error = await within(watch.done, "the watch to end");
    expect(error).toBeInstanceOf(AuthFailedError);
    // etcd 3.4.23 does not check tokens on LeaseKeepAlive: the lease lives while its stream does. Once
    // the stream must reopen (another restart), it needs a token, and the lease is lost for good. From
    // 3.5 every keep-alive checks the token (checkLeaseRenew): the restart already voided it, the
    // reopened stream must authenticate, and the lease is lost at the first restart.
    if (!versionAtLeast((await root.status()).version, "3.5")) {
      expect(lease.state).toBe("alive");
      await cluster.members[0]!.kill();
      await cluster.members[0]!.start();
    }
    const loss = await within(lost, "the lease to be lost");
    expect(loss).toBeInstanceOf(LeaseLostError);
    expect((loss as LeaseLostError).cause).toBeInstanceOf(AuthFailedError);
    const after = tap.of("Authenticate").length;
    await sleep(1_000);
    // Nothing retries wrong credentials: no Authenticate after the streams ended.
    expect(tap.of("Authenticate").length).toBe(after);
  });
});
