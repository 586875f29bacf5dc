import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  DeadlineExceededError,
  Etcd,
  EtcdError,
  NoLeaderError,
  UnavailableError,
} from "../../src/client/index.js";
import { type EtcdCluster, type EtcdMember, startEtcd } from "../../src/testing/index.js";
import { until, within } from "../support/wait.js";

// One 3-member cluster for the whole file; the tests run in order and each leaves it degraded further:
// a member frozen and thawed, then the leader killed, then quorum lost.
let cluster: EtcdCluster;
const clients: Etcd[] = [];

beforeAll(async () => {
  cluster = await startEtcd({ members: 3 });
});

afterAll(async () => {
  for (const m of cluster?.members ?? []) if (m.frozen) m.thaw();
  await Promise.all(clients.map((c) => c.close()));
  await cluster?.close();
});

function client(endpoints: string[], options: Partial<ConstructorParameters<typeof Etcd>[0]> = {}): Etcd {
  const c = new Etcd({ endpoints, retry: { initialBackoffMs: 20, maxBackoffMs: 200 }, ...options });
  clients.push(c);
  return c;
}

/** The member that leads now, asked of each running member until one knows. */
async function leader(): Promise<EtcdMember> {
  for (let tries = 0; tries < 100; tries++) {
    for (const m of cluster.members.filter((x) => x.running && !x.frozen)) {
      const c = client([m.clientUrl], { retry: { maxAttempts: 1 } });
      const s = await c.status({ timeoutMs: 1_000 }).catch(() => undefined);
      if (s && s.leader !== 0n && s.leader === s.memberId) return m;
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error("no leader found");
}

describe("failover", () => {
  it("moves on from a frozen (SIGSTOP) member: the first call ends by its timeout or keepalive", async () => {
    // A follower, so the cluster keeps its leader and only the client has to move on.
    const lead = await leader();
    const frozen = cluster.members.find((m) => m !== lead);
    const others = cluster.members.filter((m) => m !== frozen);
    const c = client([frozen!.clientUrl, ...others.map((m) => m.clientUrl)], {
      timeoutMs: 4_000,
      keepaliveIntervalMs: 300,
      keepaliveTimeoutMs: 300,
    });
    await c.put("freeze/k", "v");
    await frozen!.freeze();
    try {
      // The first call may be stuck on the frozen member: then it ends by its 4 s deadline or by the
      // keepalive (typed as such, not by some other limit), or is retried on a live member after the
      // keepalive failed. The guard is 5x the deadline: it only catches a call that never ends.
      const first = await within(
        c.get("freeze/k").then(
          (kv) => kv?.text(),
          (e: unknown) => e,
        ),
        "the first get after the freeze",
      );
      if (first !== "v")
        expect([DeadlineExceededError, UnavailableError]).toContain((first as Error).constructor);
      // Calls after it go to a live member, each within its own 4 s deadline.
      expect((await c.get("freeze/k"))?.text()).toBe("v");
      await c.put("freeze/k2", "v2");
    } finally {
      frozen!.thaw();
    }
  });

  it("kills the leader under 64 in-flight puts: each succeeds or fails typed, none applies twice", async () => {
    const lead = await leader();
    const rest = cluster.members.filter((m) => m !== lead);
    // The leader first, so the puts go straight to it.
    const c = client([lead.clientUrl, ...rest.map((m) => m.clientUrl)], { timeoutMs: 15_000 });
    await c.put("lk/warm", "up");
    // 64 workers, each with one put in flight at all times, until a while after the kill.
    const results: { key: string; value: string; outcome: PromiseSettledResult<{ revision: bigint }> }[] = [];
    let stop = false;
    const worker = async (w: number) => {
      for (let n = 0; !stop; n++) {
        const key = `lk/${w}/${n}`;
        const value = `value-${w}-${n}`;
        const outcome = await c.put(key, value).then(
          (v) => ({ status: "fulfilled" as const, value: v }),
          (reason: unknown) => ({ status: "rejected" as const, reason }),
        );
        results.push({ key, value, outcome });
      }
    };
    const workers = Promise.all(Array.from({ length: 64 }, (_, w) => worker(w)));
    const settled = (status: "fulfilled" | "rejected") => results.filter((r) => r.outcome.status === status);
    // Kill once puts are flowing (some acknowledged), stop once the kill has cost some of them.
    await until("puts acknowledged before the kill", () => settled("fulfilled").length >= 64);
    await lead.kill();
    await until("a put failed by the kill", () => settled("rejected").length > 0);
    stop = true;
    await workers;
    const check = client(
      rest.map((m) => m.clientUrl),
      { timeoutMs: 15_000 },
    );
    // Reads wait for the new leader (linearizable), retried on "no leader" while it is elected.
    const all = await check.range({ prefix: "lk/" }, { timeoutMs: 15_000 });
    expect(all.more).toBe(false);
    const byKey = new Map(all.kvs.map((kv) => [kv.keyText(), kv]));
    let ok = 0;
    let failed = 0;
    const revisions = new Set<bigint>();
    for (const { key, value, outcome } of results) {
      const kv = byKey.get(key);
      if (kv) {
        expect(kv.version, `${key} applied more than once`).toBe(1n);
        expect(kv.text()).toBe(value);
        expect(revisions.has(kv.modRevision)).toBe(false);
        revisions.add(kv.modRevision);
      }
      if (outcome.status === "fulfilled") {
        ok++;
        expect(kv?.modRevision).toBe(outcome.value.revision);
      } else {
        failed++;
        expect(outcome.reason).toBeInstanceOf(EtcdError);
      }
    }
    console.log(`leader kill: ${ok} puts succeeded, ${failed} failed typed, ${byKey.size} keys applied`);
    // Some puts were in flight when the leader died.
    expect(failed).toBeGreaterThan(0);
    expect(ok).toBeGreaterThan(0);
    // Writes work again once a new leader is elected, through the same client.
    let wrote = false;
    for (let i = 0; i < 50 && !wrote; i++) {
      wrote = await c.put("lk/after", "x", { timeoutMs: 5_000 }).then(
        () => true,
        () => false,
      );
      if (!wrote) await new Promise((r) => setTimeout(r, 200));
    }
    expect(wrote).toBe(true);
  }, 90_000);

  it("a member cut off from its cluster fails fast with NoLeaderError (hasleader)", async () => {
    const running = cluster.members.filter((m) => m.running);
    const [alone, other] = running;
    await other!.kill();
    const c = client([alone!.clientUrl], { timeoutMs: 20_000, retry: { maxAttempts: 1 } });
    // Wait until it noticed it lost the leader (status needs no leader).
    await until(
      "the member to notice it has no leader",
      async () => (await c.status().catch(() => undefined))?.leader === 0n,
      30_000,
      200,
    );
    // "no leader" is the answer etcd gives at once to a request carrying hasleader (its interceptor);
    // without it the put would wait for a leader until a timeout (etcd's, or this client's 20 s).
    const err = await c.put("cut/k", "v").catch((e) => e);
    expect(err).toBeInstanceOf(NoLeaderError);
    expect(err.endpoint).toBe(alone!.clientUrl);
    // Serializable reads need no leader.
    await expect(c.get("lk/warm", { serializable: true })).resolves.toBeDefined();
  }, 60_000);
});
