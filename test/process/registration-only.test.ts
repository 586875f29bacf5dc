import { afterEach, describe, expect, it } from "vitest";
import { Child } from "../support/child.js";
import { crashAndRestart, type ProcessCluster, sleep, startProcessCluster, TOKEN_TTL_S } from "./support.js";

const SERVICE = "svc";
const LEASE_TTL_S = 2;
/** Connection cuts. */
const CUTS = 100;
/** After these cuts etcd is SIGKILLed and restarted. */
const RESTART_AFTER = new Set([25, 50, 75]);
/** With auth, the test idles past the token TTL before these cuts, so the child's cached token is stale. */
const IDLE_BEFORE = new Set([10, 60]);
/**
 * How long a reconnected session lives before the next cut: enough for the keepalive sent on reopen to
 * be answered on localhost. Pacing of the faults only; nothing is asserted about it.
 */
const DWELL_MS = 50;
/**
 * Upper bound on leases that held the key (the first and each re-registration). A healthy client needs
 * about one per crash at most; a registration that loses itself in a loop needs one per 100 ms.
 */
const MAX_LEASES = 10;

describe.each([
  { auth: false, name: "auth off" },
  { auth: true, name: "auth on, tokens expiring" },
])("a program whose only work is a registration ($name)", ({ auth }) => {
  let pc: ProcessCluster | undefined;
  let child: Child | undefined;

  afterEach(async () => {
    await child?.kill();
    child = undefined;
    await pc?.close();
    pc = undefined;
  });

  it(`stays alive and registered through ${CUTS} cuts and ${RESTART_AFTER.size} etcd crashes without a re-registration storm, and deregisters and exits on SIGTERM`, async () => {
    pc = await startProcessCluster({ auth, prefix: `${SERVICE}/`, permission: "readwrite" });
    const { proxy, admin } = pc;
    const c = Child.start("registration-only.ts", [
      JSON.stringify({ endpoint: proxy.url, service: SERVICE, addr: "127.0.0.1:9000", auth: pc.childAuth }),
    ]);
    child = c;
    const key = (await c.waitFor("the first registration", (e) => e.type === "registered")).key as string;

    /** Waits until etcd holds the instance key under a lease that is alive. */
    const registeredInEtcd = (when: string) =>
      c.until(`the instance key under a live lease ${when}`, async () => {
        try {
          const kv = await admin.get(key, { timeoutMs: 2_000 });
          if (!kv || kv.lease === 0n) return false;
          return (await admin.lease.timeToLive(kv.lease, { timeoutMs: 2_000 })).ttl > 0;
        } catch {
          return false;
        }
      });
    await registeredInEtcd("after the first registration");

    // etcd restores leases on restart with their TTL and an extra election timeout (1 s): past that, the
    // key is only there if the child kept its lease alive or registered again.
    const restoredLeaseOutlived = (restartedAt: number) =>
      sleep(restartedAt + (LEASE_TTL_S + 2) * 1000 - Date.now());
    let restartedAt = Date.now();
    for (let cut = 1; cut <= CUTS; cut++) {
      await c.until(`a connection to the proxy before cut ${cut}`, () => proxy.connections > 0);
      if (auth && IDLE_BEFORE.has(cut)) await sleep((TOKEN_TTL_S + 1) * 1000);
      else await sleep(DWELL_MS);
      proxy.cut();
      if (RESTART_AFTER.has(cut)) {
        await restoredLeaseOutlived(restartedAt);
        await registeredInEtcd(`before etcd's crash after cut ${cut}`);
        await crashAndRestart(pc);
        restartedAt = Date.now();
        await registeredInEtcd(`after etcd's restart following cut ${cut}`);
      }
    }
    // Quiet now: a lease nobody keeps alive would expire meanwhile (and the key with it).
    await sleep((LEASE_TTL_S + 1) * 1000);
    await restoredLeaseOutlived(restartedAt);
    await registeredInEtcd(`${LEASE_TTL_S + 1} s after the last fault`);
    expect(c.running).toBe(true);

    const leases = c.events.filter((e) => e.type === "registered" || e.type === "reregistered");
    const summary = `${leases.length} leases, ${c.eventsOf("lost").length} losses, ${c.eventsOf("retry").length} retries; last events: ${JSON.stringify(c.events.slice(-5))}`;
    expect(leases.length, summary).toBeLessThanOrEqual(MAX_LEASES);

    c.signal("SIGTERM");
    const exit = await c.waitForExit("exit after SIGTERM (deregister, close)", 15_000);
    expect(exit, `exit of the registration-only child; stderr:\n${c.stderrTail()}`).toEqual({
      code: 0,
      signal: null,
    });
    expect(c.eventsOf("closed")).toHaveLength(1);
    expect(await admin.get(key)).toBeUndefined();
  }, 120_000);
});
