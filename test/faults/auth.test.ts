import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { Election, type Etcd, type Lease, Mutex, Session } from "../../src/client/index.js";
import { goEndpointsCodec, type RegistrationLostError, register } from "../../src/discovery/index.js";
import { lossOf } from "../support/lifecycle.js";
import {
  AUTH,
  Canary,
  DEFAULT_LEG,
  describeError,
  FaultCluster,
  LONG,
  PREFIX,
  Scenario,
  sleep,
  until,
  within,
} from "./harness.js";

/**
 * The fault suite with auth on: simple tokens that expire after 2 s of disuse, the client under test
 * logged in as a plain user whose role covers the test prefix. Every fault below leaves the client's
 * token dead (a restart voids every simple token) or expired (a pause past the TTL) where its watch and
 * keepalive streams reopen; a stream's token is fixed when it opens, so only a new stream with a fresh
 * token gets through. After each fault, watches, leases, registrations, locks and elections must go on.
 */
const ROUNDS = LONG ? 3 : 1;
const TOKEN_TTL_MS = AUTH.tokenTtlSeconds * 1000;

for (const members of [1, 3]) {
  const title = `faults with auth (simple tokens, TTL ${AUTH.tokenTtlSeconds} s), ${members} member${members > 1 ? "s" : ""}, ${DEFAULT_LEG.name}`;
  describe(title, { timeout: LONG ? 600_000 : 120_000 }, () => {
    let fc: FaultCluster;
    let scenario: Scenario | undefined;
    const cleanups: (() => Promise<unknown> | unknown)[] = [];

    beforeAll(async () => {
      fc = await FaultCluster.start(members, { auth: true });
    });
    afterEach(async () => {
      await fc.heal();
      for (const c of cleanups.splice(0).reverse()) await c();
      await scenario?.close();
      scenario = undefined;
      await fc.closeClients();
    });
    afterAll(async () => {
      await fc?.close();
    });

    /**
     * The faults of every test, `ROUNDS` times: SIGKILL + restart of the member the client talks to, a
     * pause past the token TTL followed by a cut, and a freeze past the token TTL. `check(what)` runs
     * after each.
     */
    async function tokenFaults(check: (what: string) => Promise<void>): Promise<void> {
      for (let round = 0; round < ROUNDS; round++) {
        const victim = await fc.connectedMember();
        await victim.kill();
        await sleep(1000);
        await victim.start();
        await fc.settle();
        await check(`SIGKILL and restart of ${victim.name}`);
        // Nothing but the streams uses the token now, so it expires on every member.
        await sleep(TOKEN_TTL_MS + 1500);
        for (const p of fc.proxies) p.cut();
        await check("a pause past the token TTL, then a cut");
        const frozen = await fc.connectedMember();
        await frozen.freeze();
        await sleep(TOKEN_TTL_MS + 1500);
        frozen.thaw();
        await fc.settle();
        await check(`a freeze of ${frozen.name} past the token TTL`);
      }
    }

    /** A canary watch on `client`, ready; closed after the test. */
    async function canary(client: Etcd, name: string): Promise<Canary> {
      const c = new Canary(fc, client, `${PREFIX}canary/${name}-${Date.now()}`);
      cleanups.push(() => c.close());
      await c.ready();
      return c;
    }

    /** "refreshed" once `lease` is refreshed again; else why not (lost, or nothing within 20 s). */
    function nextRefresh(lease: Lease): Promise<string> {
      if (lease.state !== "alive") return lease.closed.then((err) => `${lease.state}: ${describeError(err)}`);
      return within(
        new Promise<string>((resolve) => {
          lease.once("keepalive", () => resolve("refreshed"));
          lease.once("close", (err) => resolve(`closed: ${describeError(err)}`));
        }),
        20_000,
        () => "not refreshed within 20 s",
      ).catch((err: unknown) => describeError(err));
    }

    it("watches deliver every event once, in order, and a kept lease stays alive", async () => {
      const s = new Scenario(fc, "auth-watch");
      scenario = s;
      await s.begin({ watchers: 3, leases: [10] });
      const lease = s.trackedLeases[0]!.lease;
      await s.checkpoint("start");
      await tokenFaults(async (what) => {
        const [watches, refresh] = await Promise.all([
          s.checkpoint(what).then(
            () => "deliver",
            (err: unknown) => describeError(err),
          ),
          nextRefresh(lease),
        ]);
        expect({ watches, lease: refresh }, `after ${what}`).toEqual({
          watches: "deliver",
          lease: "refreshed",
        });
      });
      await s.finish();
      await s.checkLeases(true);
    });

    it("a registration, a Mutex and an Election hold; the waiters win once the holders let go", async () => {
      // Holders and waiters are different clients, as different processes would be.
      const holders = fc.client();
      const waiters = fc.client();
      const holderSession = await Session.create(holders, { ttl: 10 });
      const waiterSession = await Session.create(waiters, { ttl: 10 });
      cleanups.push(
        () => holderSession.close().catch(() => {}),
        () => waiterSession.close().catch(() => {}),
      );
      const base = `${PREFIX}recipes-${members}-${Date.now()}`;
      const get = async (key: string) => (key === "" ? undefined : await fc.direct().get(key));
      const first = async (prefix: string) =>
        (await fc.direct().range({ prefix }, { sort: { target: "create", order: "ascend" }, limit: 1 }))
          .kvs[0];
      const outcome = (p: Promise<unknown>, done: string) => {
        const o = { value: "" };
        p.then(
          () => {
            o.value = done;
          },
          (err: unknown) => {
            o.value = describeError(err);
          },
        );
        return o;
      };

      // registration (register from etcd-ts/discovery)
      const reg = await register(holders, {
        // The path goes in the codec's keyPrefix: a service name has no "/".
        service: "svc",
        codec: goEndpointsCodec({ keyPrefix: `${base}/` }),
        addr: "127.0.0.1:7001",
        ttl: 10,
        backoff: { initialMs: 50, maxMs: 500 },
      });
      cleanups.push(() => reg.close());
      const losses: RegistrationLostError[] = [];
      reg.on("lost", (e) => losses.push(e));

      // Mutex: held by one client, awaited by the other.
      const holder = new Mutex(holderSession, `${base}/lock`);
      await holder.lock();
      const holderLost = outcome(lossOf(holder.closed), "");
      const waiter = new Mutex(waiterSession, `${base}/lock`);
      const waiting = waiter.lock();
      const waiterDone = outcome(waiting, "acquired");

      // Election: led by one client, contested by the other.
      const leader = new Election(holderSession, `${base}/election`);
      await leader.campaign("first");
      const leaderLost = outcome(lossOf(leader.closed), "");
      const candidate = new Election(waiterSession, `${base}/election`);
      const campaigning = candidate.campaign("second");
      const candidateDone = outcome(campaigning, "elected");

      await until(
        async () => (await get(waiter.key)) !== undefined && (await get(candidate.key)) !== undefined,
        10_000,
        () => "the waiter's and the candidate's keys were not written",
      );
      const canaries = [await canary(holders, "holders"), await canary(waiters, "waiters")];
      await tokenFaults(async (what) => {
        for (const c of canaries) await c.settle(what);
        // The instance key comes back under the registration's current lease (it is rewritten after a loss).
        await until(
          async () => reg.state === "registered" && (await get(reg.key))?.lease === reg.leaseId,
          20_000,
          () => `after ${what}: instance key not back (registration ${reg.state})`,
        ).catch(() => {});
        const leading = await first(`${base}/election/`);
        expect(
          {
            registration: reg.state,
            instanceKey: (await get(reg.key))?.lease === reg.leaseId ? "ours" : "missing",
            registrationLosses: losses.map((e) => describeError(e)).slice(0, 2),
            holder: holderLost.value || "holds",
            lockKey: (await get(holder.key))?.createRevision === holder.revision ? "the holder's" : "gone",
            waiter: waiterDone.value || "waits",
            leader: leaderLost.value || "leads",
            leaderOnServer: [leading?.keyText(), leading?.text()],
            candidate: candidateDone.value || "campaigns",
            canaries: canaries.map((c) => c.error ?? "alive"),
          },
          `after ${what}`,
        ).toEqual({
          registration: "registered",
          instanceKey: "ours",
          registrationLosses: [],
          holder: "holds",
          lockKey: "the holder's",
          waiter: "waits",
          leader: "leads",
          leaderOnServer: [leader.key, "first"],
          candidate: "campaigns",
          canaries: ["alive", "alive"],
        });
      });

      // Let go: the waiter acquires the lock, the candidate is elected.
      await holder.unlock();
      await leader.resign();
      await within(
        Promise.allSettled([waiting, campaigning]),
        20_000,
        () =>
          `after unlock/resign: waiter ${waiterDone.value || "waits"}, candidate ${candidateDone.value || "campaigns"}`,
      );
      expect({ waiter: waiterDone.value, candidate: candidateDone.value }).toEqual({
        waiter: "acquired",
        candidate: "elected",
      });
      expect(waiter.held && candidate.leading).toBe(true);
      expect((await first(`${base}/lock/`))?.keyText()).toBe(waiter.key);
      const elected = await first(`${base}/election/`);
      expect([elected?.keyText(), elected?.text()]).toEqual([candidate.key, "second"]);
      await waiter.unlock();
      await candidate.resign();
    });
  });
}
