import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { CompactedError, LeaseLostError, WatchCompactedError } from "../../src/client/index.js";
import { checkHistory, describeReport, HistoryRecorder } from "../support/history.js";
import { type ClientSetup, FaultCluster, type Leg, LONG, Scenario, sleep, until, within } from "./harness.js";

/**
 * Faults against real etcd (1 and 3 members) with puts, deletes and txns streaming in, for a client made
 * with `new Etcd` on `leg`'s transport. After each: 0 lost, 0 duplicated, 0 out-of-order events for every
 * watcher, and every lease alive or reported lost within its TTL. `ETCD_TS_FAULTS=long` runs more cuts
 * and rounds.
 */
const CUTS = LONG ? 1000 : 100;
const ROUNDS = LONG ? 5 : 1;
const dec = new TextDecoder();

export function faultSuite(leg: Leg): void {
  for (const members of [1, 3]) {
    const title = `faults, ${members} member${members > 1 ? "s" : ""}, ${leg.name}`;
    describe(title, { timeout: LONG ? 600_000 : 90_000 }, () => {
      let fc: FaultCluster;
      let scenario: Scenario | undefined;

      beforeAll(async () => {
        fc = await FaultCluster.start(members);
      });
      afterEach(async () => {
        await fc.heal();
        await scenario?.close();
        scenario = undefined;
        await fc.closeClients();
      });
      afterAll(async () => {
        await fc?.close();
      });

      /** A fresh scenario for this test; afterEach closes it. */
      function open(name: string, setup: ClientSetup = {}): Scenario {
        scenario = new Scenario(fc, name, { leg, ...setup });
        return scenario;
      }

      it(`stream cut by the proxy ${CUTS} times in a row`, async () => {
        const s = open("cut");
        await s.begin({ watchers: 3, leases: [5, 10] });
        for (let i = 0; i < CUTS; i++) {
          if (i % 10 === 0) {
            // Every tenth cut hits streams known to be alive: the watchers just delivered a write made
            // after the previous cuts, so the client reopened them.
            await s.checkpoint(`${i} cuts`);
            expect(
              fc.proxies.some((p) => p.connections > 0),
              "an open connection to cut",
            ).toBe(true);
          }
          for (const p of fc.proxies) p.cut();
          await sleep(i % 10 === 9 ? 60 : 15);
        }
        await s.checkpoint(`${CUTS} cuts`);
        await s.finish();
        await s.checkLeases(true);
      });

      it("member SIGKILL and restart", async () => {
        const s = open("kill");
        await s.begin({ watchers: 3, leases: [10] });
        for (let round = 0; round < ROUNDS; round++) {
          await s.checkpoint(`round ${round}`);
          await sleep(300);
          // Kill the member the client's streams are on (the only one with 1 member).
          const victim = await fc.connectedMember();
          await victim.kill();
          // With quorum left, the client moves on while the member is down.
          if (members > 1) await s.checkpoint(`SIGKILL of ${victim.name}`);
          await sleep(1000);
          await victim.start();
          await fc.settle();
        }
        await s.checkpoint("the restarts");
        await s.finish();
        await s.checkLeases(true);
      });

      if (members > 1) {
        it("leader killed", async () => {
          const s = open("leader");
          await s.begin({ watchers: 3, leases: [10] });
          for (let round = 0; round < ROUNDS; round++) {
            await sleep(300);
            const leader = await fc.settle();
            await leader.kill();
            await s.checkpoint(`SIGKILL of the leader ${leader.name}`);
            await sleep(500);
            await leader.start();
            await fc.settle();
          }
          await s.checkpoint("the restarts");
          await s.finish();
          await s.checkLeases(true);
        });

        it("a member that lost its leader is abandoned (hasleader)", async () => {
          const s = open("noleader");
          await s.begin({ watchers: 2, leases: [30] });
          await s.checkpoint("start");
          const survivor = await fc.connectedMember();
          const others = fc.etcd.members.filter((m) => m !== survivor);
          await Promise.all(others.map((m) => m.kill()));
          // Without hasleader the survivor would keep the watch stream open and silent, its watches
          // `active` for ever; with it etcd ends the stream and every watch goes back to reconnecting.
          await until(
            () => s.tracked.every((t) => t.watcher.state !== "active"),
            20_000,
            () => `watches stayed on ${survivor.name}, which has no leader: ${s.states()}`,
          );
          await Promise.all(others.map((m) => m.start()));
          await fc.settle();
          await s.finish();
          await s.checkLeases(true);
        });
      }

      it("member frozen (SIGSTOP) longer than the keepalive timeout", async () => {
        // No keepalive PINGs of the transport: the watch stream's liveness check (1 s idle, then 1 s for
        // an on-demand PING, or a Status call on grpc-js) and the keeper's watchdog (a refresh every
        // TTL/3 = 3.3 s, unanswered for 1-2 s) alone must notice.
        const s = open("freeze", { keepaliveIntervalMs: 3_600_000 });
        await s.begin({ watchers: 3, leases: [10] });
        await s.checkpoint("start");
        const victim = await fc.connectedMember();
        await victim.freeze();
        if (members > 1) {
          // Still frozen, yet the client moved on: the watches deliver new writes...
          await s.checkpoint(`freeze of ${victim.name}`);
          // ...and the lease is refreshed (the frozen member answers nothing, so not by it).
          const lease = s.trackedLeases[0]!.lease;
          await within(
            new Promise((resolve, reject) => {
              lease.once("keepalive", resolve);
              lease.once("close", reject);
            }),
            30_000,
            () => `lease ${lease.id} not refreshed while ${victim.name} is frozen`,
          );
        } else {
          await sleep(5000);
        }
        victim.thaw();
        await fc.settle();
        await s.checkpoint(`thaw of ${victim.name}`);
        await s.finish();
        await s.checkLeases(true);
      });

      it("compaction during a disconnect", async () => {
        const s = open("compact");
        await s.begin({ watchers: 2 });
        // One more watcher, from the same revision, that resyncs instead of failing.
        const resyncing = s.client.watch(
          { prefix: s.prefix },
          {
            startRevision: s.startRevision,
            onCompacted: "resync",
          },
        );
        const before = new HistoryRecorder();
        const after = new HistoryRecorder();
        let resyncRevision: bigint | undefined;
        let resyncBatches = 0;
        const resyncDone = (async () => {
          for await (const b of resyncing) {
            if (b.resync) {
              resyncBatches++;
              resyncRevision = b.revision;
              continue;
            }
            (resyncRevision === undefined ? before : after).record(b);
            if (b.events.some((e) => dec.decode(e.kv!.key).endsWith("~end"))) return;
          }
        })();
        await sleep(300);
        for (const p of fc.proxies) {
          p.refuse(true);
          p.cut();
        }
        await sleep(200);
        // The store's history up to the compaction point, read before it is compacted away.
        const rev = await fc.put(`${s.prefix}!mark`, "");
        const expected = await fc.history(s.prefix, s.startRevision, rev);
        await fc.direct().compact(rev, { physical: true });
        // Compaction is applied by each member on its own: wait until every member refuses older reads,
        // else a watch could resume on a member that still has the history (and rightly lose nothing).
        for (let i = 0; i < fc.etcd.members.length; i++) {
          await until(
            () =>
              fc
                .member(i)
                .range(`${s.prefix}x`, { revision: rev - 1n })
                .then(
                  () => false,
                  (e: unknown) => e instanceof CompactedError,
                ),
            10_000,
            () => `member ${i} did not compact`,
          );
        }
        for (const p of fc.proxies) p.refuse(false);
        const state = () =>
          `${s.states()}, resyncing ${resyncing.state}@${resyncing.nextRevision}; compacted at ${rev}`;
        await within(
          Promise.all(s.tracked.map((t) => t.done)),
          20_000,
          () => `compaction not reported: ${state()}`,
        );
        // The sentinel must come after the resync read, or it would arrive inside the resync batch.
        await until(
          () => resyncRevision !== undefined,
          20_000,
          () => `no resync batch: ${state()}`,
        );
        await s.load.stop();
        const end = await s.load.sentinel();
        for (const [i, t] of s.tracked.entries()) {
          expect(t.error).toBeInstanceOf(WatchCompactedError);
          expect((t.error as WatchCompactedError).compactRevision).toBe(rev);
          // What was delivered before the break is a clean prefix of the history.
          const delivered = t.recorder.events;
          expect(delivered.length).toBeGreaterThan(0);
          const report = checkHistory(expected.slice(0, delivered.length), delivered);
          expect(report.ok, `watcher ${i}: ${describeReport(report)}`).toBe(true);
        }
        await within(resyncDone, 20_000, () => `resync watcher did not finish: ${state()}`);
        expect(resyncBatches).toBe(1);
        expect(resyncRevision).toBeGreaterThanOrEqual(rev);
        const r1 = checkHistory(expected.slice(0, before.events.length), before.events);
        expect(r1.ok, `before resync: ${describeReport(r1)}`).toBe(true);
        const expectedAfter = await fc.history(s.prefix, resyncRevision! + 1n, end);
        const r2 = checkHistory(expectedAfter, after.upTo(end));
        expect(r2.ok, `after resync: ${describeReport(r2)}`).toBe(true);
      });

      it("etcd restarted while a lease outlives the downtime, and one that does not", async () => {
        const s = open("restart");
        await s.begin({ watchers: 2, leases: [20] });
        const short = await s.client.lease.grant(3);
        let shortLast = Date.now();
        let shortLostAt = 0;
        short.on("keepalive", () => {
          shortLast = Date.now();
        });
        short.on("close", (error) => {
          if (error) shortLostAt = Date.now();
        });
        await sleep(500);
        // The whole cluster goes down for longer than the short lease's TTL, shorter than the long one's.
        await Promise.all(fc.etcd.members.map((m) => m.kill()));
        await sleep(short.ttl * 1000 + 1500);
        expect(await short.closed).toBeInstanceOf(LeaseLostError);
        expect(shortLostAt - shortLast).toBeLessThanOrEqual(short.ttl * 1000);
        await Promise.all(fc.etcd.members.map((m) => m.start()));
        await fc.settle();
        await s.finish();
        await s.checkLeases(true);
      });
    });
  }
}
