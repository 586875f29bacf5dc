// Live objects closed by their user while the shared streams are broken, reconnecting, or have a create
// or cancel in flight: each must be released at once (the garbage collector proves it), never re-created
// after the break, and gone from etcd (its own watcher count proves it). Issue 26: a soak found closed
// watches kept after connection breaks; test/process/soak.test.ts churns, this file pins each state.
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { Etcd, type Watcher } from "../../src/client/index.js";
import { discover, goEndpointsCodec, register } from "../../src/discovery/index.js";
import { type EtcdCluster, FaultProxy, startEtcd } from "../../src/testing/index.js";
import { Reachable } from "../support/collected.js";
import { enableAuth } from "../support/etcdctl.js";
import { callsHandled, serverWatchers } from "../support/server-metrics.js";
import { until } from "../support/wait.js";

const PREFIX = "cdb/";
const ROOT = { username: "root", password: "root-Secret-pw-123" };
const USER = { username: "app", password: "app-Secret-pw-456" };

/** The faults here wait for reconnects and expiries: deadlines that only catch hangs. */
const TEST_TIMEOUT_MS = 120_000;

describe.each([
  { auth: false, name: "auth off" },
  { auth: true, name: "auth on, tokens expiring" },
])("live objects closed during a break are released ($name)", ({ auth }) => {
  let cluster: EtcdCluster;
  let proxy: FaultProxy;
  let etcd: Etcd;
  let admin: Etcd;
  /** One watch that stays open: it shows when the client has a working stream again. */
  let keep: Watcher;
  let kept: bigint[];
  let reachable: Reachable;

  // One etcd per block (starting one per test cost a dozen member starts per line); each test gets its own
  // proxy and clients, and starts once etcd holds no watcher of an earlier test (afterEach waits for it).
  beforeAll(async () => {
    cluster = await startEtcd(auth ? { args: ["--auth-token-ttl=2"] } : {});
    if (auth)
      await enableAuth(cluster.endpoint, {
        rootPassword: ROOT.password,
        role: { name: "app-role", grants: [["readwrite", PREFIX]], users: [USER] },
      });
  });

  afterAll(async () => {
    await cluster?.close();
  });

  beforeEach(async () => {
    proxy = await FaultProxy.start(cluster.endpoint);
    etcd = new Etcd({ endpoints: [proxy.url], auth: auth ? USER : undefined });
    admin = new Etcd({ endpoints: [cluster.endpoint], auth: auth ? ROOT : undefined });
    keep = etcd.watch(`${PREFIX}keep`);
    kept = [];
    keep.on("batch", (b) => {
      for (const e of b.events) kept.push(e.kv.modRevision);
    });
    await keep.created;
    reachable = new Reachable();
  });

  afterEach(async () => {
    await etcd?.close();
    await admin?.close();
    await proxy?.close();
    await until(
      "etcd to drop the closed clients' watchers",
      async () => (await serverWatchers(cluster.endpoint)) === 0,
      30_000,
    );
  });

  /** Waits until the client's watch stream works again: the open watch delivers a fresh write. */
  async function streamWorks(): Promise<void> {
    const { revision } = await admin.put(`${PREFIX}keep`, "v");
    await until("the open watch to deliver a write after the break", () => kept.includes(revision), 30_000);
  }

  /** etcd holds exactly the open watch, and every tracked object was collected. */
  async function released(): Promise<void> {
    await until(
      "etcd's watcher count to come back to the one open watch",
      async () => (await serverWatchers(cluster.endpoint)) === 1,
      30_000,
    );
    expect(await reachable.settle(0)).toBe(0);
  }

  function openWatches(n: number, options = {}): Watcher[] {
    return Array.from({ length: n }, (_, i) =>
      reachable.track(etcd.watch({ prefix: `${PREFIX}w/${i}/` }, options)),
    );
  }

  // Each test makes and closes its objects in a function of their own: a suspended async function may
  // keep a finished loop's variable alive in its frame, which is the test's reference, not the client's.

  it(
    "watches closed while the connection is cut and new connections are refused (reconnecting)",
    async () => {
      await (async () => {
        const watches = openWatches(20);
        await Promise.all(watches.map((w) => w.created));
        expect(await serverWatchers(cluster.endpoint)).toBe(21);
        proxy.refuse(true);
        proxy.cut();
        await Promise.all(watches.map((w) => w.close()));
      })();
      proxy.refuse(false);
      await streamWorks();
      await released();
    },
    TEST_TIMEOUT_MS,
  );

  it(
    "watches closed while their creates are in flight and the server's answers do not arrive",
    async () => {
      // A one-way partition: what the client sends arrives, nothing comes back.
      proxy.blackhole("server-to-client");
      const canceled = await callsHandled(cluster.endpoint, "etcdserverpb.Watch/Watch", "Canceled");
      await (async () => {
        const sent = proxy.bytesFromClients;
        const watches = openWatches(20);
        await until("the creates to leave the client", () => proxy.bytesFromClients > sent, 30_000);
        await Promise.all(watches.map((w) => w.close()));
      })();
      // The client gives the silent stream up (its reset reaches etcd) before the partition heals.
      await until(
        "etcd to see the silent watch stream reset by the client",
        async () => (await callsHandled(cluster.endpoint, "etcdserverpb.Watch/Watch", "Canceled")) > canceled,
        60_000,
      );
      // The proxy's blackhole loses the bytes it dropped, which TCP never does: a connection that lost
      // bytes mid-stream is broken for HTTP/2 (flow-control windows never come back). End it, as a real
      // partition ends with either everything retransmitted or the connection reset.
      proxy.heal();
      proxy.cut();
      await streamWorks();
      await released();
    },
    TEST_TIMEOUT_MS,
  );

  it(
    "watches closed just before the connection is cut (their cancels in flight)",
    async () => {
      await (async () => {
        const watches = openWatches(20);
        await Promise.all(watches.map((w) => w.created));
        const closing = Promise.all(watches.map((w) => w.close()));
        proxy.cut();
        await closing;
      })();
      await streamWorks();
      await released();
    },
    TEST_TIMEOUT_MS,
  );

  it(
    "paused watches (unread, over their buffer bound) closed during a break",
    async () => {
      let watches = openWatches(5, { maxBufferedEvents: 2 });
      await Promise.all(watches.map((w) => w.created));
      for (let k = 0; k < 4; k++) for (let i = 0; i < 5; i++) await admin.put(`${PREFIX}w/${i}/${k}`, "v");
      await until(
        "every watch paused over its bound",
        () => watches.every((w) => w.state === "paused"),
        30_000,
      );
      proxy.refuse(true);
      proxy.cut();
      await Promise.all(watches.map((w) => w.close()));
      watches = [];
      proxy.refuse(false);
      await streamWorks();
      await released();
    },
    TEST_TIMEOUT_MS,
  );

  it(
    "kept leases closed during a break are not refreshed after it, and expire on the server",
    async () => {
      const ids = await (async () => {
        const leases = await Promise.all(Array.from({ length: 4 }, () => etcd.lease.grant(2)));
        for (const l of leases) reachable.track(l);
        proxy.refuse(true);
        proxy.cut();
        await Promise.all(leases.map((l) => l.close()));
        return leases.map((l) => l.id);
      })();
      proxy.refuse(false);
      await streamWorks();
      for (const id of ids)
        await until(
          `lease ${id} to expire on the server`,
          async () => (await admin.lease.timeToLive(id)).ttl === -1,
          30_000,
        );
      expect(await reachable.settle(0)).toBe(0);
    },
    TEST_TIMEOUT_MS,
  );

  it(
    "a cache, a discovery and a registration closed during a break",
    async () => {
      // Made and closed in a function of their own, so that no reference of the test's outlives them.
      await (async () => {
        // The service lives under the test's prefix: the path goes in the codec (a service name has no "/").
        const codec = goEndpointsCodec({ keyPrefix: PREFIX });
        const cache = reachable.track(etcd.cache({ prefix: `${PREFIX}w/` }));
        const discovery = reachable.track(discover(etcd, "svc", { codec }));
        const registration = reachable.track(
          await register(etcd, { service: "svc", codec, addr: "127.0.0.1:1", ttl: 5 }),
        );
        await Promise.all([cache.ready, discovery.ready]);
        proxy.refuse(true);
        proxy.cut();
        await Promise.all([cache.close(), discovery.close(), registration.close()]);
      })();
      proxy.refuse(false);
      await streamWorks();
      await released();
    },
    TEST_TIMEOUT_MS,
  );
});
