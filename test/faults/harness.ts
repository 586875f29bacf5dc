import { createClient } from "@connectrpc/connect";
import { expect } from "vitest";
import {
  Etcd,
  type EtcdOptions,
  type Lease,
  LeaseLostError,
  prefixRangeEnd,
  type StreamOptions,
  type Watcher,
  type WatchOptions,
} from "../../src/client/index.js";
import { createConnectNodeTransport } from "../../src/connect-node/index.js";
import { Auth } from "../../src/gen/etcdserverpb/rpc_pb.js";
import { createGrpcJsTransport } from "../../src/grpc-js/index.js";
import { type EtcdCluster, type EtcdMember, FaultProxy, startEtcd } from "../../src/testing/index.js";
import { enableAuth } from "../support/etcdctl.js";
import {
  checkHistory,
  describeReport,
  type HistoryEvent,
  HistoryRecorder,
  readHistory,
} from "../support/history.js";
import { HistoryLoad } from "../support/history-load.js";

/** `ETCD_TS_FAULTS=long` selects the long version (more cuts, more rounds); the default fits CI. */
export const LONG = process.env.ETCD_TS_FAULTS === "long";

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** `p`, or a rejection naming what hung (with the state at that time) after `ms`. */
export function within<T>(p: Promise<T>, ms: number, what: () => string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  return Promise.race([
    p,
    new Promise<T>((_, reject) => {
      timer = setTimeout(() => reject(new Error(what())), ms);
    }),
  ]).finally(() => clearTimeout(timer));
}

/** Polls `check` until it holds; after `ms` fails with `what()` (a deadline that only catches hangs). */
export async function until(check: () => boolean | Promise<boolean>, ms: number, what: () => string) {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(what());
    await sleep(20);
  }
}

/**
 * Liveness probe and reconnect backoff of the client's watch and keepalive streams (`EtcdOptions.streams`),
 * shorter than the defaults (5 s idle + 2 s probe, backoff 50 ms to 2 s) so that faults show sooner.
 */
export const STREAMS: StreamOptions = {
  idleTimeoutMs: 1000,
  probeTimeoutMs: 1000,
  backoff: { initialMs: 20, maxMs: 500 },
};

/** HTTP/2 keepalive of the client under test. */
export interface Keepalive {
  intervalMs: number;
  timeoutMs: number;
}

/** How the client under test reaches etcd: its default transport, or one passed as `EtcdOptions.transport`. */
export interface Leg {
  readonly name: string;
  transport?(keepalive: Keepalive): NonNullable<EtcdOptions["transport"]>;
}

export const DEFAULT_LEG: Leg = { name: "default transport" };

export const GRPC_JS_LEG: Leg = {
  name: "grpc-js transport",
  transport: (keepalive) => (endpoint) =>
    createGrpcJsTransport({
      baseUrl: endpoint.url,
      keepaliveIntervalMs: keepalive.intervalMs,
      keepaliveTimeoutMs: keepalive.timeoutMs,
    }),
};

/** Users of an auth-enabled cluster: root for the test's own traffic, a plain user for the client under test. */
export const AUTH = {
  tokenTtlSeconds: 2,
  root: { username: "root", password: "root-Faults-pw-1" },
  user: { username: "alice", password: "alice-Faults-pw-2" },
};

/** Every key the fault suites write is under this prefix (the plain user's role covers it). */
export const PREFIX = "faults/";

/** Options of {@link FaultCluster.client}. */
export interface ClientSetup {
  leg?: Leg;
  /** HTTP/2 PING interval of the client under test, ms. Default 10000 (the client's default). */
  keepaliveIntervalMs?: number;
}

/** A cluster with one TCP proxy per member; the client under test reaches members only through them. */
export class FaultCluster {
  readonly etcd: EtcdCluster;
  readonly proxies: FaultProxy[];
  /** Auth is on: the client under test logs in as {@link AUTH}.user, the test's own clients as root. */
  readonly auth: boolean;
  /** One plain client per member, straight to it, for the test's own traffic (load, reads, checks). */
  readonly #direct: Etcd[];
  readonly #clients: Etcd[] = [];
  #next = 0;

  private constructor(etcd: EtcdCluster, proxies: FaultProxy[], auth: boolean) {
    this.etcd = etcd;
    this.proxies = proxies;
    this.auth = auth;
    this.#direct = etcd.members.map(
      (m) =>
        new Etcd({
          endpoints: [m.clientUrl],
          timeoutMs: 5000,
          retry: { initialBackoffMs: 20, maxBackoffMs: 250 },
          ...(auth ? { auth: AUTH.root } : {}),
        }),
    );
  }

  /**
   * Starts `members` etcd members, each behind a proxy. With `auth`: simple tokens that expire after
   * {@link AUTH}.tokenTtlSeconds of disuse, root, and a plain user whose role covers {@link PREFIX}.
   */
  static async start(members: number, options: { auth?: boolean } = {}): Promise<FaultCluster> {
    const auth = options.auth ?? false;
    const etcd = await startEtcd({
      members,
      args: auth ? [`--auth-token-ttl=${AUTH.tokenTtlSeconds}`] : [],
    });
    try {
      if (auth) {
        await enableAuth(etcd.endpoint, {
          rootPassword: AUTH.root.password,
          role: { name: "faults", grants: [["readwrite", PREFIX]], users: [AUTH.user] },
        });
        // The kit's leader() asks every member's status, which needs a token under auth on 3.5.28+.
        etcd.useCredentials(AUTH.root);
      }
      const proxies = await Promise.all(etcd.members.map((m) => FaultProxy.start(m.clientUrl)));
      return new FaultCluster(etcd, proxies, auth);
    } catch (err) {
      await etcd.close();
      throw err;
    }
  }

  /**
   * A client under test, as a user would make it: `new Etcd` on the proxies' URLs, the leg's transport
   * (default: none, i.e. the built-in one), the plain user when auth is on. Closed by {@link close}.
   */
  client(setup: ClientSetup = {}): Etcd {
    const keepalive = { intervalMs: setup.keepaliveIntervalMs ?? 10_000, timeoutMs: 5000 };
    const options: EtcdOptions = {
      endpoints: this.proxies.map((p) => p.url),
      keepaliveIntervalMs: keepalive.intervalMs,
      keepaliveTimeoutMs: keepalive.timeoutMs,
      streams: STREAMS,
      ...(setup.leg?.transport ? { transport: setup.leg.transport(keepalive) } : {}),
      ...(this.auth ? { auth: AUTH.user } : {}),
    };
    const client = new Etcd(options);
    this.#clients.push(client);
    return client;
  }

  /** A plain client straight to a running, unfrozen member, the next such one on each call. */
  direct(): Etcd {
    const up = this.etcd.members.map((m, i) => [m, i] as const).filter(([m]) => m.running && !m.frozen);
    if (up.length === 0) return this.#direct[0]!;
    return this.#direct[up[this.#next++ % up.length]![1]]!;
  }

  /** Puts `key` straight to a live member, retrying through elections and restarts; returns the revision. */
  async put(key: string, value: string): Promise<bigint> {
    for (let attempt = 0; ; attempt++) {
      try {
        return (await this.direct().put(key, value, { timeoutMs: 3000 })).revision;
      } catch (err) {
        if (attempt >= 40) throw err;
        await sleep(250);
      }
    }
  }

  /** The plain client straight to member `i`. */
  member(i: number): Etcd {
    return this.#direct[i]!;
  }

  /**
   * The member the client under test talks to: the one whose proxy has open connections (the client pins
   * one endpoint); if several have, the one whose proxy carried the most bytes from the server just now.
   */
  async connectedMember(): Promise<EtcdMember> {
    const deadline = Date.now() + 15_000;
    for (;;) {
      const before = this.proxies.map((p) => p.bytesFromServer);
      await sleep(200);
      const open = this.proxies
        .map((p, i) => ({ i, grew: p.bytesFromServer - before[i]! }))
        .filter(({ i }) => this.proxies[i]!.connections > 0)
        .sort((a, b) => b.grew - a.grew);
      if (open.length > 0) return this.etcd.members[open[0]!.i]!;
      if (Date.now() > deadline)
        throw new Error("no proxy has an open connection: the client is not connected");
    }
  }

  /** Waits for a leader served by a running, unfrozen member (after restarts and thaws). */
  async settle(): Promise<EtcdMember> {
    return this.etcd.leader({ timeoutMs: 30_000 });
  }

  /**
   * The store's own history of `prefix` from `from` to `to` (an event at `to` must exist), read with a
   * raw Watch stream straight to a running member on connect-node: owes nothing to the code under test.
   */
  async history(prefix: string, from: bigint, to: bigint): Promise<HistoryEvent[]> {
    const member = this.etcd.members.find((m) => m.running && !m.frozen) ?? this.etcd.members[0]!;
    const transport = createConnectNodeTransport({ baseUrl: member.clientUrl });
    try {
      const headers: Record<string, string> = {};
      if (this.auth) {
        const r = await createClient(Auth, transport).authenticate({
          name: AUTH.root.username,
          password: AUTH.root.password,
        });
        headers.token = r.token;
      }
      const enc = new TextEncoder();
      return await readHistory(
        transport,
        {
          key: enc.encode(prefix),
          rangeEnd: prefixRangeEnd(enc.encode(prefix)),
          fromRevision: from,
          toRevision: to,
        },
        { headers },
      );
    } finally {
      await transport.close();
    }
  }

  /** Thaws, restarts and un-refuses whatever a test left broken. */
  async heal(): Promise<void> {
    for (const p of this.proxies) p.heal();
    for (const m of this.etcd.members) {
      if (m.frozen) m.thaw();
      if (!m.running) await m.start();
    }
  }

  /** Closes the clients under test that are still open. */
  async closeClients(): Promise<void> {
    await Promise.all(this.#clients.splice(0).map((c) => c.close()));
  }

  async close(): Promise<void> {
    await this.closeClients();
    await Promise.all(this.#direct.map((d) => d.close()));
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
  /** The error the lease ended with, when lost. */
  lostWith?: Error;
}

const dec = new TextDecoder();

/**
 * One fault scenario: a client under test (through the proxies) with watchers on a fresh prefix and kept
 * leases, a load streaming puts/deletes/txns from the test's own clients, and at the end the history check
 * and the lease check.
 */
export class Scenario {
  readonly fc: FaultCluster;
  readonly prefix: string;
  readonly client: Etcd;
  readonly load: HistoryLoad;
  readonly tracked: Tracked[] = [];
  readonly trackedLeases: TrackedLease[] = [];
  startRevision = 0n;
  #marks = 0;

  constructor(fc: FaultCluster, name: string, setup: ClientSetup = {}) {
    this.fc = fc;
    this.prefix = `${PREFIX}${name}-${Date.now()}/`;
    this.client = fc.client(setup);
    this.load = new HistoryLoad(this.prefix, () => fc.direct());
  }

  /** Starts `count` watchers at an explicit revision, keeps `leases` (TTLs), then starts the load. */
  async begin(options: { watchers?: number; leases?: number[]; watch?: WatchOptions } = {}): Promise<void> {
    this.startRevision = (await this.fc.put(`${this.prefix}!start`, "s")) + 1n;
    for (let i = 0; i < (options.watchers ?? 3); i++)
      this.track(
        this.client.watch({ prefix: this.prefix }, { startRevision: this.startRevision, ...options.watch }),
      );
    for (const ttl of options.leases ?? []) this.trackLease(await this.client.lease.grant(ttl));
    await until(
      () => this.tracked.every((t) => t.watcher.state === "active"),
      20_000,
      () => `watches not created: ${this.states()}`,
    );
    this.load.start(1);
  }

  /** Records a lease's refreshes and its loss, for {@link checkLeases}. */
  trackLease(lease: Lease): TrackedLease {
    const t: TrackedLease = { lease, lastRefresh: Date.now(), lostAt: undefined };
    lease.on("keepalive", () => {
      t.lastRefresh = Date.now();
    });
    lease.on("close", (error) => {
      if (!error) return;
      t.lostAt = Date.now();
      t.lostWith = error;
    });
    this.trackedLeases.push(t);
    return t;
  }

  /** Records what `watcher` delivers until the sentinel (or its error), for {@link finish}. */
  track(watcher: Watcher): Tracked {
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
    return t;
  }

  /** Each watcher's state, resume point and error: what a hang report shows. */
  states(): string {
    return this.tracked
      .map(
        (t, i) =>
          `#${i} ${t.watcher.state}@${t.watcher.nextRevision}${t.error ? ` (${t.error.message})` : ""}`,
      )
      .join(", ");
  }

  /**
   * Writes a marker in the prefix (straight to a member) and waits until every watcher delivered it: the
   * client's watches are alive now, whatever broke before. Fails at once naming a watcher that ended.
   */
  async checkpoint(after: string): Promise<bigint> {
    const mark = await this.fc.put(`${this.prefix}!mark${this.#marks++}`, after);
    await until(
      () => {
        const ended = this.tracked.find((t) => t.error);
        if (ended) throw new Error(`after ${after}: a watcher ended: ${ended.error}; ${this.states()}`);
        return this.tracked.every((t) => t.recorder.events.some((e) => e.revision >= mark));
      },
      30_000,
      () => `after ${after}: watchers did not deliver the marker at ${mark}: ${this.states()}`,
    );
    return mark;
  }

  /**
   * Stops the load, writes the sentinel, waits for every watcher to deliver it (or end), then checks
   * each watcher's history against the store's. Returns the sentinel revision.
   */
  async finish(options: { expectErrors?: boolean } = {}): Promise<bigint> {
    // Enough history to make the check mean something: on a busy machine a short scenario may have
    // written little, so wait for the writes instead of asserting on how many the scheduler allowed.
    await until(
      () => this.load.ok >= 30,
      30_000,
      () => `the load wrote only ${this.load.ok} times (${this.load.failed} failed)`,
    );
    await this.load.stop();
    const end = await this.load.sentinel();
    await within(
      Promise.all(this.tracked.map((t) => t.done)),
      30_000,
      () => `watchers did not deliver the sentinel (rev ${end}): ${this.states()}`,
    );
    const expected = await this.fc.history(this.prefix, this.startRevision, end);
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

  /**
   * Every lease is alive (on the server too, asked straight) or was reported lost within its TTL of its
   * last refresh.
   */
  async checkLeases(expectAlive: boolean | undefined = undefined): Promise<void> {
    for (const t of this.trackedLeases) {
      if (t.lease.state === "alive") {
        if (expectAlive === false) expect.fail(`lease ${t.lease.id} should have been reported lost`);
        let ttl = -1;
        for (let i = 0; i < 20 && ttl <= 0; i++) {
          ttl = await this.fc
            .direct()
            .lease.timeToLive(t.lease.id)
            .then((r) => r.ttl)
            .catch(() => -2);
          if (ttl <= 0) await sleep(100);
        }
        expect(ttl, `lease ${t.lease.id} alive on the server`).toBeGreaterThan(0);
      } else {
        if (expectAlive === true) expect.fail(`lease ${t.lease.id} was lost: ${t.lostWith?.message}`);
        expect(await t.lease.closed, `lease ${t.lease.id} ended by a loss`).toBeInstanceOf(LeaseLostError);
        expect(t.lostAt! - t.lastRefresh, "lost reported within the TTL").toBeLessThanOrEqual(
          t.lease.ttl * 1000,
        );
      }
    }
  }

  async close(): Promise<void> {
    await this.load.stop();
    await this.client.close();
  }
}

/** An error and the chain of its causes, on one line (what a failure report shows). */
export function describeError(err: unknown): string {
  const parts: string[] = [];
  for (let e: unknown = err; e !== undefined && parts.length < 5; e = (e as { cause?: unknown }).cause)
    parts.push(e instanceof Error ? `${e.name}: ${e.message}` : String(e));
  return parts.join(" <- ");
}

/**
 * A watch on one key of a client under test, to learn when that client's watch stream is back after a
 * fault: {@link settle} writes the key straight to a member and waits until the canary delivered it, or
 * ended (then {@link error} says why).
 */
export class Canary {
  readonly #fc: FaultCluster;
  readonly #key: string;
  readonly #watcher: Watcher;
  #seen = 0n;
  #ended: string | undefined;

  constructor(fc: FaultCluster, client: Etcd, key: string) {
    this.#fc = fc;
    this.#key = key;
    this.#watcher = client.watch(key);
    this.#watcher.on("batch", (b) => {
      for (const e of b.events) if (e.kv && e.kv.modRevision > this.#seen) this.#seen = e.kv.modRevision;
    });
    void this.#watcher.closed.then((err) => {
      this.#ended = err ? describeError(err) : "ended cleanly";
    });
  }

  /** Waits until the canary's watch is created. */
  async ready(): Promise<void> {
    await until(
      () => this.#watcher.state === "active",
      20_000,
      () => `canary ${this.#key} not created: ${this.#watcher.state}`,
    );
  }

  /** Why the canary's watch ended, if it did. */
  get error(): string | undefined {
    return this.#ended;
  }

  /** Writes the canary key, waits until the watch delivered it or ended. */
  async settle(after: string): Promise<void> {
    const rev = await this.#fc.put(this.#key, after);
    await until(
      () => this.#ended !== undefined || this.#seen >= rev,
      30_000,
      () => `after ${after}: the client's watch stream did not come back (canary ${this.#watcher.state})`,
    );
  }

  close(): void {
    this.#watcher.close();
  }
}
