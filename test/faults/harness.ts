import { create } from "@bufbuild/protobuf";
import { createClient, type Transport } from "@connectrpc/connect";
import { expect } from "vitest";
import type { Lease } from "../../src/client/lease/lease.js";
import { Leases } from "../../src/client/lease/leases.js";
import type { WatchOptions } from "../../src/client/watch/types.js";
import { WatchHub } from "../../src/client/watch/watch-hub.js";
import type { Watcher } from "../../src/client/watch/watcher.js";
import { KV, Maintenance, StatusRequestSchema } from "../../src/gen/etcdserverpb/rpc_pb.js";
import { type EtcdCluster, type EtcdMember, FaultProxy, startEtcd } from "../../src/testing/index.js";
import { checkHistory, describeReport, HistoryRecorder, readHistory } from "../support/history.js";
import { HistoryLoad } from "../support/history-load.js";
import { TestTransportPool } from "../support/transport-pool.js";

/** `ETCD_TS_FAULTS=long` selects the long version (more cuts, more rounds); the default fits CI. */
export const LONG = process.env.ETCD_TS_FAULTS === "long";

const enc = new TextEncoder();
const dec = new TextDecoder();

/** A cluster with one TCP proxy per member; the client under test reaches members only through them. */
export class FaultCluster {
  readonly etcd: EtcdCluster;
  readonly proxies: FaultProxy[];
  readonly #direct: TestTransportPool[];

  private constructor(etcd: EtcdCluster, proxies: FaultProxy[]) {
    this.etcd = etcd;
    this.proxies = proxies;
    // Test-side traffic (load, history reads) goes straight to members, around the proxies.
    this.#direct = etcd.members.map((m) => new TestTransportPool([m.clientUrl]));
  }

  /** Starts `members` etcd members, each behind a proxy. */
  static async start(members: number): Promise<FaultCluster> {
    const etcd = await startEtcd({ members });
    try {
      const proxies = await Promise.all(etcd.members.map((m) => FaultProxy.start(m.clientUrl)));
      return new FaultCluster(etcd, proxies);
    } catch (err) {
      await etcd.close();
      throw err;
    }
  }

  /** A direct transport to a running, unfrozen member (the i-th such one). */
  direct(i = 0): Transport {
    const up = this.etcd.members.map((m, j) => [m, j] as const).filter(([m]) => m.running && !m.frozen);
    if (up.length === 0) return this.#direct[0]!.pick().transport;
    return this.#direct[up[i % up.length]![1]]!.pick().transport;
  }

  /** The member behind proxy URL `url`. */
  memberBehind(url: string | undefined): EtcdMember | undefined {
    const i = this.proxies.findIndex((p) => p.url === url);
    return i >= 0 ? this.etcd.members[i] : undefined;
  }

  /** The current leader (asks a running member's Status). */
  async leader(): Promise<EtcdMember> {
    for (let attempt = 0; attempt < 50; attempt++) {
      for (const [i, m] of this.etcd.members.entries()) {
        if (!m.running || m.frozen) continue;
        try {
          const s = await createClient(Maintenance, this.#direct[i]!.pick().transport).status(
            create(StatusRequestSchema, {}),
            { timeoutMs: 1000 },
          );
          if (s.leader === 0n) continue;
          for (const [j, other] of this.etcd.members.entries()) {
            const os = await createClient(Maintenance, this.#direct[j]!.pick().transport)
              .status(create(StatusRequestSchema, {}), { timeoutMs: 1000 })
              .catch(() => undefined);
            if (os?.header?.memberId === s.leader) return other;
          }
        } catch {
          /* try the next member */
        }
      }
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error("no leader found");
  }

  /** Waits until every member serves a write-free Status (after restarts). */
  async settle(): Promise<void> {
    await this.leader();
  }

  async close(): Promise<void> {
    for (const d of this.#direct) d.close();
    for (const p of this.proxies) await p.close();
    for (const m of this.etcd.members) if (m.frozen) m.thaw();
    await this.etcd.close();
  }
}

interface Tracked {
  watcher: Watcher;
  recorder: HistoryRecorder;
  done: Promise<void>;
  error: Error | undefined;
}

interface TrackedLease {
  lease: Lease;
  lastRefresh: number;
  lostAt: number | undefined;
}

/**
 * One fault scenario: a client (watch hub + leases) through the proxies, watchers on a fresh prefix,
 * a load streaming puts/deletes/txns, and at the end the history check and the lease check.
 */
export class Scenario {
  readonly fc: FaultCluster;
  readonly prefix: string;
  readonly pool: TestTransportPool;
  readonly hub: WatchHub;
  readonly leases: Leases;
  readonly load: HistoryLoad;
  readonly tracked: Tracked[] = [];
  readonly trackedLeases: TrackedLease[] = [];
  startRevision = 0n;

  constructor(fc: FaultCluster, name: string) {
    this.fc = fc;
    this.prefix = `${name}-${Date.now()}/`;
    // No HTTP/2 PINGs: a frozen member must be noticed by the hub's probe and the keeper's watchdog alone.
    this.pool = new TestTransportPool(
      fc.proxies.map((p) => p.url),
      { pingIntervalMs: 0 },
    );
    this.hub = new WatchHub(this.pool, {
      backoff: { initialMs: 20, maxMs: 500 },
      idleTimeoutMs: 1000,
      probeTimeoutMs: 1000,
    });
    this.leases = new Leases(this.pool, { responseTimeoutMs: 1000, backoff: { initialMs: 20, maxMs: 500 } });
    let n = 0;
    this.load = new HistoryLoad(this.prefix, () => fc.direct(n++));
  }

  /** Starts `count` watchers at an explicit revision (and one "now" watcher), then the load. */
  async begin(options: { watchers?: number; leases?: number[]; watch?: WatchOptions } = {}): Promise<void> {
    const r = await createClient(KV, this.fc.direct()).put({
      key: enc.encode(`${this.prefix}!start`),
      value: enc.encode("s"),
    });
    this.startRevision = r.header!.revision + 1n;
    for (let i = 0; i < (options.watchers ?? 3); i++)
      this.#track(
        this.hub.watch(this.prefix, { prefix: true, startRevision: this.startRevision, ...options.watch }),
      );
    for (const ttl of options.leases ?? []) {
      const lease = await this.leases.grant(ttl);
      const t: TrackedLease = { lease, lastRefresh: Date.now(), lostAt: undefined };
      lease.on("keepalive", () => {
        t.lastRefresh = Date.now();
      });
      lease.on("lost", () => {
        t.lostAt = Date.now();
      });
      this.trackedLeases.push(t);
    }
    // Let the watches get created before the load starts (a "now" watch would otherwise race it).
    const until = Date.now() + 10_000;
    while (this.tracked.some((t) => t.watcher.state !== "active") && Date.now() < until)
      await new Promise((r) => setTimeout(r, 10));
    this.load.start(1);
  }

  #track(watcher: Watcher): void {
    const recorder = new HistoryRecorder();
    const t: Tracked = { watcher, recorder, error: undefined, done: Promise.resolve() };
    t.done = (async () => {
      try {
        for await (const b of watcher) {
          recorder.record(b);
          if (b.events.some((e) => dec.decode(e.kv!.key) === `${this.prefix}~end`)) return;
        }
      } catch (err) {
        t.error = err as Error;
      }
    })();
    this.tracked.push(t);
  }

  /**
   * Stops the load, writes the sentinel, waits for every watcher to deliver it (or end), then checks
   * each watcher's history against the store's. Returns the sentinel revision.
   */
  async finish(options: { expectErrors?: boolean } = {}): Promise<bigint> {
    await this.load.stop();
    const end = await this.load.sentinel();
    await Promise.race([
      Promise.all(this.tracked.map((t) => t.done)),
      new Promise((_, rej) =>
        setTimeout(
          () => rej(new Error(`watchers did not deliver the sentinel (rev ${end})`)),
          30_000,
        ).unref(),
      ),
    ]);
    const expected = await readHistory(this.fc.direct(), {
      key: enc.encode(this.prefix),
      rangeEnd: enc.encode(`${this.prefix.slice(0, -1)}0`),
      fromRevision: this.startRevision,
      toRevision: end,
    });
    expect(expected.length, "history length").toBeGreaterThan(20);
    for (const [i, t] of this.tracked.entries()) {
      if (!options.expectErrors) expect(t.error, `watcher ${i} error`).toBeUndefined();
      const delivered = t.recorder.upTo(end);
      // A watcher that ended with an error must still have delivered a clean prefix of the history.
      const reference = t.error ? expected.slice(0, delivered.length) : expected;
      const report = checkHistory(reference, delivered);
      expect(report.ok, `watcher ${i}: ${describeReport(report)}`).toBe(true);
    }
    return end;
  }

  /** Every lease is alive (on the server too) or was reported lost within its TTL of its last refresh. */
  async checkLeases(expectAlive: boolean | undefined = undefined): Promise<void> {
    for (const t of this.trackedLeases) {
      if (t.lease.state === "alive") {
        if (expectAlive === false) expect.fail(`lease ${t.lease.id} should have been reported lost`);
        let ttl = -1;
        for (let i = 0; i < 20 && ttl <= 0; i++) {
          ttl = await this.leases
            .timeToLive(t.lease.id)
            .then((r) => r.ttl)
            .catch(() => -2);
          if (ttl <= 0) await new Promise((r) => setTimeout(r, 100));
        }
        expect(ttl, `lease ${t.lease.id} alive on the server`).toBeGreaterThan(0);
      } else {
        if (expectAlive === true) expect.fail(`lease ${t.lease.id} was lost: ${t.lease.error?.message}`);
        expect(t.lease.state).toBe("lost");
        expect(t.lostAt! - t.lastRefresh, "lost reported within the TTL").toBeLessThanOrEqual(
          t.lease.ttl * 1000,
        );
      }
    }
  }

  async close(): Promise<void> {
    await this.load.stop();
    await this.hub.close();
    await this.leases.close();
    this.pool.close();
  }
}
