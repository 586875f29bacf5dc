import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  ClosedError,
  Election,
  Etcd,
  InvalidUsageError,
  LeaseLostError,
  LockLostError,
  Mutex,
  Session,
  WatchCompactedError,
} from "../../src/client/index.js";
import { discover, register } from "../../src/discovery/index.js";
import { type SharedCluster, useSharedEtcd } from "../support/etcd-fixture.js";
import { until, within } from "../support/wait.js";

/**
 * The lifecycle convention (docs/client.md, "Live objects"), checked on every live object through the
 * public API against real etcd: `close()` is idempotent and never rejects, `closed` settles once and never
 * rejects (undefined when this process ended the object, the error when it ended by itself), the `close`
 * event carries the same value once, `signal` aborts with it, `state` ends in `closed` (the Mutex and
 * Election hold: `lost`/back to idle), and closing the client settles every one of them.
 */

/** What every live object exposes. */
interface Live {
  readonly closed: Promise<Error | undefined>;
  readonly signal: AbortSignal;
  readonly state: string;
  close(): Promise<void>;
  on(event: "close", listener: (error: Error | undefined) => void): unknown;
  on(event: "state", listener: (state: never) => void): unknown;
}

const shared = useSharedEtcd();
let cluster: SharedCluster;
let etcd: Etcd;
let other: Etcd;

beforeAll(async () => {
  cluster = shared.cluster;
  etcd = new Etcd({ endpoints: cluster.endpoints });
  other = new Etcd({ endpoints: cluster.endpoints });
});

afterAll(async () => {
  await etcd?.close();
  await other?.close();
});

/** Records a live object's `close` events and `state` changes from now on. */
function observe(live: Live) {
  const closes: (Error | undefined)[] = [];
  const states: string[] = [];
  live.on("close", (error) => closes.push(error));
  live.on("state", ((state: string) => states.push(state)) as (state: never) => void);
  return { closes, states };
}

/** Closes `live` twice, checks the convention for an end by this process. */
async function closesCleanly(live: Live, what: string): Promise<void> {
  const seen = observe(live);
  const signal = live.signal;
  await expect(live.close()).resolves.toBeUndefined();
  await expect(live.close()).resolves.toBeUndefined();
  expect(await within(live.closed, `${what}: closed`)).toBeUndefined();
  expect(live.state).toBe("closed");
  expect(signal.aborted).toBe(true);
  expect(signal.reason).toBeInstanceOf(ClosedError);
  await until(`${what}: the close event`, () => seen.closes.length > 0);
  expect(seen.closes).toEqual([undefined]);
  expect(seen.states.at(-1)).toBe("closed");
}

describe("live objects: one lifecycle", () => {
  it("a watch, a lease, a session, a registration, a discovery and a cache close cleanly", async () => {
    const watcher = etcd.watch({ prefix: "live/w/" });
    await within(watcher.created, "the watch to be created");
    await closesCleanly(watcher, "watch");

    await closesCleanly(await etcd.lease.grant(10), "lease");

    const session = await Session.create(etcd, { ttl: 10 });
    await closesCleanly(session, "session");
    expect((await other.lease.timeToLive(session.leaseId)).ttl).toBe(-1);

    const registration = await register(etcd, { service: "live-svc", addr: "127.0.0.1:7001", ttl: 10 });
    await closesCleanly(registration, "registration");
    expect(await other.get(registration.key)).toBeUndefined();

    const discovery = discover(etcd, "live-svc");
    await within(discovery.ready, "the discovery to be ready");
    expect(discovery.state).toBe("live");
    await closesCleanly(discovery, "discovery");

    const cache = etcd.cache({ prefix: "live/c/" });
    await within(cache.ready, "the cache to be ready");
    await until("the cache live", () => cache.state === "live");
    await closesCleanly(cache, "cache");
  });

  it("a mutex and an election: each hold ends cleanly on release, with a lost state when it ends by itself", async () => {
    const session = await Session.create(etcd, { ttl: 10 });
    const mutex = new Mutex(session, "live/m");
    expect(mutex.state).toBe("unlocked");
    expect(() => mutex.closed).toThrow(InvalidUsageError);
    const seen = observe(mutex);
    await mutex.lock();
    expect(mutex.state).toBe("locked");
    const hold = mutex.closed;
    const signal = mutex.signal;
    await mutex.close();
    await mutex.close();
    expect(await hold).toBeUndefined();
    expect(signal.reason).toBeInstanceOf(ClosedError);
    expect(mutex.state).toBe("unlocked");
    await until("the mutex's close event", () => seen.closes.length > 0);
    expect(seen.closes).toEqual([undefined]);
    expect(seen.states).toEqual(["locking", "locked", "unlocked"]);

    // Reusable: a second hold, this time lost (the lock key deleted by someone else).
    await mutex.lock();
    const second = mutex.closed;
    expect(second).not.toBe(hold);
    await other.delete(mutex.key);
    const error = await within(second, "the lost hold");
    expect(error).toBeInstanceOf(LockLostError);
    expect(mutex.signal.reason).toBe(error);
    expect(mutex.state).toBe("lost");
    await mutex.close();
    expect(mutex.state).toBe("unlocked");

    const election = new Election(session, "live/e");
    expect(election.state).toBe("idle");
    await election.campaign("me");
    expect(election.state).toBe("leader");
    const leadership = election.closed;
    await election.close();
    expect(await leadership).toBeUndefined();
    expect(election.state).toBe("idle");
    await session.close();
  });

  it("things that end by themselves resolve closed with the error, emit it once and abort signal with it", async () => {
    const lease = await etcd.lease.grant(10);
    const session = await Session.create(etcd, { ttl: 10 });
    const election = new Election(session, "live/lost-e");
    await election.campaign("me");
    const watched = observe(lease);
    const sessionSeen = observe(session);
    await other.lease.revoke(lease.id);
    await other.lease.revoke(session.leaseId);
    const leaseError = await within(lease.closed, "the lease's loss");
    expect(leaseError).toBeInstanceOf(LeaseLostError);
    expect(lease.signal.reason).toBe(leaseError);
    expect(lease.state).toBe("closed");
    expect(await within(session.closed, "the session's loss")).toBeInstanceOf(LeaseLostError);
    expect(await within(election.closed, "the leadership's loss")).toBeInstanceOf(LockLostError);
    expect(election.state).toBe("lost");
    await until("the close events", () => watched.closes.length > 0 && sessionSeen.closes.length > 0);
    expect(watched.closes).toEqual([leaseError]);
    expect(sessionSeen.closes).toEqual([await session.closed]);
    // Closing after the end changes nothing and never rejects.
    await expect(lease.close()).resolves.toBeUndefined();
    await expect(session.close()).resolves.toBeUndefined();
    await expect(election.close()).resolves.toBeUndefined();
    expect(await lease.closed).toBe(leaseError);

    // A watch that the server ends: compacted past its start revision.
    const first = await etcd.put("live/c", "1");
    await etcd.put("live/c", "2");
    await other.compact((await other.put("live/c", "3")).revision);
    const watcher = etcd.watch("live/c", { startRevision: first.revision });
    const watchError = await within(watcher.closed, "the compacted watch to end");
    expect(watchError).toBeInstanceOf(WatchCompactedError);
    expect(watcher.signal.reason).toBe(watchError);
    expect(watcher.state).toBe("closed");
  });

  it("closing the client settles every live object, as ended by this process", async () => {
    const client = new Etcd({ endpoints: cluster.endpoints });
    const watcher = client.watch({ prefix: "live/all/" });
    await within(watcher.created, "the watch to be created");
    const lease = await client.lease.grant(10);
    const session = await Session.create(client, { ttl: 10 });
    const mutex = new Mutex(session, "live/all-m");
    await mutex.lock();
    const hold = mutex.closed;
    const registration = await register(client, { service: "live-all", addr: "127.0.0.1:7002", ttl: 10 });
    const discovery = discover(client, "live-all");
    await within(discovery.ready, "the discovery to be ready");
    const cache = client.cache({ prefix: "live/all/" });
    await within(cache.ready, "the cache to be ready");
    await client.close();
    const ends = await within(
      Promise.all([
        watcher.closed,
        lease.closed,
        session.closed,
        registration.closed,
        discovery.closed,
        cache.closed,
      ]),
      "every live object to settle after client.close()",
    );
    expect(ends).toEqual([undefined, undefined, undefined, undefined, undefined, undefined]);
    // The session's lease is no longer kept alive: its lock is gone with it, which is a loss of the hold.
    expect(await within(hold, "the lock hold to settle")).toBeInstanceOf(LockLostError);
    for (const live of [watcher, lease, session, registration, discovery, cache])
      expect(live.state).toBe("closed");
  });
});
