import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Etcd, NoLeaderError, UnavailableError } from "../../src/client/index.js";
import { type EtcdCluster, startEtcd } from "../../src/testing/index.js";
import { until } from "../support/wait.js";

/**
 * A linearizable MemberList (etcd 3.5+) is a quorum round: without quorum it cannot be answered. The
 * client sends it requiring a leader, so a member left alone refuses it at once as "no leader" rather
 * than holding it until etcd's own "request timed out" (3.5+). etcd 3.4 ignores the field (it answers
 * from its local view when it has a leader), and refuses the same way without one.
 */
let cluster: EtcdCluster;
const clients: Etcd[] = [];

function client(endpoints: string[]): Etcd {
  const c = new Etcd({ endpoints, timeoutMs: 10_000, retry: { initialBackoffMs: 20, maxBackoffMs: 200 } });
  clients.push(c);
  return c;
}

beforeAll(async () => {
  cluster = await startEtcd({ members: 3 });
});

afterAll(async () => {
  await Promise.allSettled(clients.map((c) => c.close()));
  await cluster?.close();
});

describe("MemberList without quorum (2 of 3 members stopped)", () => {
  it("a local list answers; a linearizable one fails with NoLeaderError at once; both answer once quorum is back", async () => {
    const [alone, second, third] = cluster.members;
    const ids = cluster.members.map((m) => m.memberId).sort();
    await Promise.all([second!.stop(), third!.stop()]);
    await until(
      "the member left alone to lose its leader",
      async () => (await alone!.status()).leader === 0n,
    );
    const one = client([alone!.clientUrl]);
    const every = client(cluster.endpoints);
    expect((await one.cluster.list()).map((m) => m.id).sort()).toEqual(ids);
    // etcd 3.4 ignores `linearizable`, but the client's leader requirement still refuses it here.
    const err = await one.cluster.list({ linearizable: true }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(NoLeaderError);
    expect(err).toMatchObject({ serverMessage: "etcdserver: no leader", endpoint: alone!.clientUrl });
    // Across every endpoint: each refuses or is down, and the last refusal is the call's error.
    const across = await every.cluster.list({ linearizable: true }).catch((e: unknown) => e);
    expect(across).toBeInstanceOf(UnavailableError);
    await second!.start();
    await until("a leader again", async () => (await alone!.status()).leader !== 0n);
    expect((await every.cluster.list({ linearizable: true })).map((m) => m.id).sort()).toEqual(ids);
  });
});
