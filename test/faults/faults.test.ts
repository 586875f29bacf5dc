import { create } from "@bufbuild/protobuf";
import { createClient } from "@connectrpc/connect";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { WatchCompactedError } from "../../src/client/watch/errors.js";
import {
  CompactionRequestSchema,
  KV,
  PutRequestSchema,
  RangeRequestSchema,
} from "../../src/gen/etcdserverpb/rpc_pb.js";
import { checkHistory, describeReport, HistoryRecorder, readHistory } from "../support/history.js";
import { FaultCluster, LONG, Scenario } from "./harness.js";

/**
 * Faults against real etcd (1 and 3 members) with puts, deletes and txns streaming in. After each:
 * 0 lost, 0 duplicated, 0 out-of-order events for every watcher, and every lease alive or reported lost
 * within its TTL. `ETCD_TS_FAULTS=long` runs more cuts and rounds.
 */
const CUTS = LONG ? 1000 : 100;
const ROUNDS = LONG ? 5 : 1;
const enc = new TextEncoder();
const dec = new TextDecoder();
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
/** `p`, or a rejection naming what hung (with the state at that time) after `ms`. */
function within<T>(p: Promise<T>, ms: number, what: () => string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  return Promise.race([
    p,
    new Promise<T>((_, reject) => {
      timer = setTimeout(() => reject(new Error(what())), ms);
    }),
  ]).finally(() => clearTimeout(timer));
}

for (const members of [1, 3]) {
  describe(`faults, ${members} member${members > 1 ? "s" : ""}`, { timeout: LONG ? 600_000 : 60_000 }, () => {
    let fc: FaultCluster;
    let scenario: Scenario | undefined;

    beforeAll(async () => {
      fc = await FaultCluster.start(members);
    });
    afterEach(async () => {
      for (const p of fc.proxies) p.refuse(false);
      for (const m of fc.etcd.members) {
        if (m.frozen) m.thaw();
        if (!m.running) await m.start();
      }
      await scenario?.close();
      scenario = undefined;
    });
    afterAll(async () => {
      await fc?.close();
    });

    /** A fresh scenario for this test; afterEach closes it. */
    function open(name: string): Scenario {
      scenario = new Scenario(fc, name);
      return scenario;
    }

    it(`stream cut by the proxy ${CUTS} times in a row`, async () => {
      const s = open("cut");
      await s.begin({ watchers: 3, leases: [5, 10] });
      for (let i = 0; i < CUTS; i++) {
        for (const p of fc.proxies) p.cut();
        await sleep(i % 10 === 9 ? 60 : 15);
      }
      await s.finish();
      expect(s.hub.streamsOpened).toBeGreaterThan(CUTS / 4);
      await s.checkLeases(true);
    });

    it("member SIGKILL and restart", async () => {
      const s = open("kill");
      await s.begin({ watchers: 3, leases: [10] });
      for (let round = 0; round < ROUNDS; round++) {
        await sleep(300);
        // Kill the member the watch stream is on (the only one with 1 member).
        const victim = fc.memberBehind(s.hub.endpoint) ?? fc.etcd.members[0]!;
        await victim.kill();
        await sleep(1000);
        await victim.start();
        await fc.settle();
      }
      await sleep(300);
      await s.finish();
      await s.checkLeases(true);
    });

    if (members > 1) {
      it("leader killed", async () => {
        const s = open("leader");
        await s.begin({ watchers: 3, leases: [10] });
        for (let round = 0; round < ROUNDS; round++) {
          await sleep(300);
          const leader = await fc.leader();
          await leader.kill();
          await sleep(1500);
          await leader.start();
          await fc.settle();
        }
        await sleep(300);
        await s.finish();
        await s.checkLeases(true);
      });
    }

    if (members > 1) {
      it("a member that lost its leader is abandoned (hasleader)", async () => {
        const s = open("noleader");
        await s.begin({ watchers: 2, leases: [30] });
        await sleep(300);
        const survivorUrl = s.hub.endpoint!;
        const survivor = fc.memberBehind(survivorUrl)!;
        const others = fc.etcd.members.filter((m) => m !== survivor);
        const streamsBefore = s.hub.streamsOpened;
        await Promise.all(others.map((m) => m.kill()));
        // Without hasleader the survivor would keep the watch stream open and silent; with it etcd cancels
        // the stream and the hub opens another.
        const until = Date.now() + 15_000;
        while (s.hub.streamsOpened === streamsBefore && Date.now() < until) await sleep(100);
        expect(s.hub.streamsOpened).toBeGreaterThan(streamsBefore);
        await Promise.all(others.map((m) => m.start()));
        await fc.settle();
        await s.finish();
        await s.checkLeases(true);
      });
    }

    it("member frozen (SIGSTOP) longer than the keepalive timeout", async () => {
      const s = open("freeze");
      await s.begin({ watchers: 3, leases: [10] });
      await sleep(300);
      const victim = fc.memberBehind(s.hub.endpoint) ?? fc.etcd.members[0]!;
      await victim.freeze();
      // No HTTP/2 PINGs here: the hub's probe (1 s idle + 1 s) and the keeper's watchdog (1 s after a
      // refresh, sent every TTL/3 = 3.3 s) must notice. Frozen well past both, under the lease TTL.
      await sleep(5000);
      if (members > 1) {
        // The client moved to another member while this one is still frozen.
        expect(s.hub.endpoint === undefined || fc.memberBehind(s.hub.endpoint) !== victim).toBe(true);
        expect(
          s.leases.keeper.endpoint === undefined || fc.memberBehind(s.leases.keeper.endpoint) !== victim,
        ).toBe(true);
      }
      victim.thaw();
      await fc.settle();
      await s.finish();
      await s.checkLeases(true);
    });

    it("compaction during a disconnect", async () => {
      const s = open("compact");
      await s.begin({ watchers: 2 });
      // One more watcher, from the same revision, that resyncs instead of failing.
      const resyncing = s.hub.watch(s.prefix, {
        prefix: true,
        startRevision: s.startRevision,
        onCompacted: "resync",
      });
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
      const kv = createClient(KV, fc.direct());
      const rev = (await kv.put(create(PutRequestSchema, { key: enc.encode(`${s.prefix}!mark`) }))).header!
        .revision;
      const expected = await readHistory(fc.direct(), {
        key: enc.encode(s.prefix),
        rangeEnd: enc.encode(`${s.prefix.slice(0, -1)}0`),
        fromRevision: s.startRevision,
        toRevision: rev,
      });
      await kv.compact(create(CompactionRequestSchema, { revision: rev, physical: true }));
      // Compaction is applied by each member on its own: wait until every member refuses older reads,
      // else a watch could resume on a member that still has the history (and rightly lose nothing).
      for (let i = 0; i < fc.etcd.members.length; i++) {
        for (let attempt = 0; ; attempt++) {
          const compacted = await createClient(KV, fc.direct(i))
            .range(create(RangeRequestSchema, { key: enc.encode("x"), revision: rev - 1n }))
            .then(
              () => false,
              (e: unknown) => String(e).includes("compacted"),
            );
          if (compacted) break;
          if (attempt > 100) throw new Error(`member ${i} did not compact`);
          await sleep(20);
        }
      }
      for (const p of fc.proxies) p.refuse(false);
      const state = () =>
        `watchers ${[...s.tracked.map((t) => t.watcher), resyncing].map((w) => `${w.state}@${w.nextRevision}`).join(", ")}; streams ${s.hub.streamsOpened}; compacted at ${rev}`;
      await within(
        Promise.all(s.tracked.map((t) => t.done)),
        20_000,
        () => `compaction not reported: ${state()}`,
      );
      // The sentinel must come after the resync read, or it would arrive inside the resync batch.
      await within(
        (async () => {
          while (resyncRevision === undefined) await sleep(10);
        })(),
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
      const expectedAfter = await readHistory(fc.direct(), {
        key: enc.encode(s.prefix),
        rangeEnd: enc.encode(`${s.prefix.slice(0, -1)}0`),
        fromRevision: resyncRevision! + 1n,
        toRevision: end,
      });
      const r2 = checkHistory(expectedAfter, after.upTo(end));
      expect(r2.ok, `after resync: ${describeReport(r2)}`).toBe(true);
    });

    it("etcd restarted while a lease outlives the downtime, and one that does not", async () => {
      const s = open("restart");
      await s.begin({ watchers: 2, leases: [20] });
      const short = await s.leases.grant(3);
      let shortLast = Date.now();
      let shortLostAt = 0;
      short.on("keepalive", () => {
        shortLast = Date.now();
      });
      short.on("lost", () => {
        shortLostAt = Date.now();
      });
      await sleep(500);
      // The whole cluster goes down for longer than the short lease's TTL, shorter than the long one's.
      await Promise.all(fc.etcd.members.map((m) => m.kill()));
      await sleep(short.ttl * 1000 + 1500);
      expect(short.state).toBe("lost");
      expect(shortLostAt - shortLast).toBeLessThanOrEqual(short.ttl * 1000);
      await Promise.all(fc.etcd.members.map((m) => m.start()));
      await fc.settle();
      await s.finish();
      await s.checkLeases(true);
    });
  });
}
