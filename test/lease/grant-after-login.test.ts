import { beforeAll, describe, expect, it } from "vitest";
import type { GetTokenContext } from "../../src/client/index.js";
import { mintToken } from "../support/auth-tokens.js";
import { useEtcd } from "../support/etcd-fixture.js";
import { enableAuth } from "../support/etcdctl.js";
import { within } from "../support/wait.js";

const ROOT_PW = "root-Grant-pw-1";
const ALICE_PW = "alice-Grant-pw-2";
/** Longer than the lease's TTL: the token source answers this late, as a slow login would. */
const SLOW_LOGIN_MS = 5_000;

/**
 * A lease's first deadline counts from when the granting request left, not from the `grant()` call: a
 * login before it (a slow password check, a slow identity provider) is no lease time. Before the fix a
 * 2 s lease whose grant had to log in for longer than that was declared lost the moment it was granted.
 */
describe("a lease granted by a call that had to log in first", () => {
  const env = useEtcd();

  beforeAll(async () => {
    await enableAuth(env.cluster.endpoint, {
      rootPassword: ROOT_PW,
      role: {
        name: "grant-login",
        grants: [["readwrite", "grant-login/"]],
        users: [{ username: "alice", password: ALICE_PW }],
      },
    });
  });

  it("is kept alive: the login before the grant does not count against its TTL", async () => {
    const asked: string[] = [];
    const alice = env.client({
      // The call's deadline covers the slow login; the test is about the lease's, not the call's.
      timeoutMs: 60_000,
      auth: {
        getToken: async ({ reason }: GetTokenContext) => {
          asked.push(reason);
          const token = await mintToken(env.cluster.endpoint, "alice", ALICE_PW);
          await new Promise((r) => setTimeout(r, SLOW_LOGIN_MS));
          return token;
        },
      },
    });
    // The client's first call: it has no token, so the grant waits for the slow token source first.
    const lease = await alice.lease.grant(2);
    expect(asked).toEqual(["initial"]);
    // Two refreshes answered, or the loss that the old deadline (counted from the call) declared at once.
    const refreshes = new Promise<void>((resolve) => {
      let n = 0;
      lease.on("keepalive", () => {
        if (++n === 2) resolve();
      });
    });
    const outcome = await within(
      Promise.race([refreshes.then(() => "kept" as const), lease.closed.then((e) => e)]),
      "two refreshes of the lease, or its loss",
      60_000,
    );
    expect(outcome).toBe("kept");
    expect(lease.state).toBe("alive");
    const ttl = await alice.lease.timeToLive(lease.id);
    expect(ttl.ttl).toBeGreaterThan(0);
    await alice.put("grant-login/k", "v", { lease: lease.id });
    await lease.revoke();
    expect(await alice.get("grant-login/k")).toBeUndefined();
  });
});
