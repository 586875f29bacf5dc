import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { EtcdError } from "../../src/client/core/errors.js";
import { AuthFailedError, Etcd, WatchCanceledError } from "../../src/client/index.js";
import {
  allOf,
  type DiscoveryWarning,
  discover,
  goEndpointsCodec,
  inZone,
  notDraining,
  type Registration,
  register,
  type ServiceInstance,
  whereMetadata,
  withVersion,
} from "../../src/discovery/index.js";
import { type EtcdCluster, FaultProxy, startEtcd } from "../../src/testing/index.js";
import { CallTap } from "../support/call-tap.js";
import { useEtcd } from "../support/etcd-fixture.js";
import { enableAuth, etcdctl } from "../support/etcdctl.js";
import { ChangeLedger, CLIENT_OPTIONS, client, until } from "./support.js";

describe("discover() against a real etcd", () => {
  const env = useEtcd({ client: CLIENT_OPTIONS });
  const { cleanups } = env;
  let cluster: EtcdCluster;
  let etcd: Etcd;
  let writer: Etcd;

  beforeAll(() => {
    cluster = env.cluster;
    etcd = env.client();
    writer = env.client();
  });

  const addrs = (list: ServiceInstance[]) => list.map((i) => i.addr);

  it("gives the initial range, then every change, and snapshots through for await", async () => {
    const a = await register(writer, { service: "s1", addr: "10.0.0.1:1" });
    cleanups.push(() => a.close());
    const d = discover(etcd, "s1");
    cleanups.push(() => d.close());
    const snapshots: string[][] = [];
    const iterating = (async () => {
      for await (const s of d) {
        snapshots.push(addrs(s));
        if (snapshots.length === 3) return;
      }
    })();
    await d.ready;
    expect(addrs(d.instances())).toEqual(["10.0.0.1:1"]);
    const b = await register(writer, { service: "s1", addr: "10.0.0.2:1" });
    await until("b added", () => d.instances().length === 2);
    await b.close();
    await iterating;
    expect(snapshots).toEqual([["10.0.0.1:1"], ["10.0.0.1:1", "10.0.0.2:1"], ["10.0.0.1:1"]]);
  });

  it("a loop that falls behind gets the newest snapshot, not one stale snapshot per change", async () => {
    const codec = goEndpointsCodec();
    const instance = (n: number) => ({
      service: "slow",
      addr: `10.0.7.${n}:1`,
      metadata: null,
      weight: 1,
      draining: false,
    });
    cleanups.push(() => writer.delete({ prefix: "slow/" }));
    const d = discover(etcd, "slow");
    cleanups.push(() => d.close());
    let release!: () => void;
    const blocked = new Promise<void>((r) => {
      release = r;
    });
    const snapshots: number[] = [];
    const iterating = (async () => {
      for await (const s of d) {
        snapshots.push(s.length);
        if (snapshots.length === 1) await blocked;
        if (snapshots.length === 2) return;
      }
    })();
    await d.ready;
    let last = 0n;
    for (let n = 1; n <= 50; n++)
      last = (await writer.put(codec.key(instance(n)), codec.encode(instance(n)))).revision;
    await until("the view has all 50", () => d.revision >= last);
    release();
    await iterating;
    // The loop was busy while 50 instances came: its next snapshot is the view now, not the first change.
    expect(snapshots).toEqual([0, 50]);
  });

  it("skips malformed entries with a warning and never crashes", async () => {
    await writer.put("s2/bad-json", "{not json");
    await writer.put("s2/no-addr", '{"Op":0}');
    await writer.put("s2/good", '{"Op":0,"Addr":"10.0.0.3:1","Metadata":null}');
    cleanups.push(() => writer.delete({ prefix: "s2/" }));
    const d = discover(etcd, "s2");
    cleanups.push(() => d.close());
    const warnings: DiscoveryWarning[] = [];
    d.on("warning", (w) => warnings.push(w));
    await d.ready;
    expect(addrs(d.instances())).toEqual(["10.0.0.3:1"]);
    expect(warnings.map((w) => w.key).sort()).toEqual(["s2/bad-json", "s2/no-addr"]);
    // A good entry turning bad leaves the view (with a warning); Go's Op 1 is a deletion.
    await writer.put("s2/good", "\u0000garbage");
    await until("bad update removes", () => d.instances().length === 0);
    expect(warnings.at(-1)?.key).toBe("s2/good");
    await writer.put("s2/good", '{"Op":0,"Addr":"10.0.0.3:1"}');
    await until("back", () => d.instances().length === 1);
    await writer.put("s2/good", '{"Op":1,"Addr":"10.0.0.3:1"}');
    await until("Op 1 removes", () => d.instances().length === 0);
  });

  it("filters by draining, zone, version and metadata, moving instances in and out", async () => {
    const regs: Registration[] = [];
    for (const [addr, zone, version, metadata] of [
      ["10.0.1.1:1", "a", "1.0", { tier: "gold" }],
      ["10.0.1.2:1", "a", "2.0", { tier: "gold" }],
      ["10.0.1.3:1", "b", "1.0", { tier: "free" }],
    ] as const) {
      regs.push(await register(writer, { service: "s3", addr, zone, version, metadata }));
    }
    cleanups.push(() => Promise.all(regs.map((r) => r.close())));
    const gold = (m: unknown) => (m as { tier?: string } | null)?.tier === "gold";
    const d = discover(etcd, "s3", {
      filter: allOf(notDraining, inZone("a"), withVersion("1.0"), whereMetadata(gold)),
    });
    cleanups.push(() => d.close());
    await d.ready;
    expect(addrs(d.instances())).toEqual(["10.0.1.1:1"]);
    await regs[0]!.drain();
    await until("draining leaves", () => d.instances().length === 0);
    await regs[2]!.update({ tier: "gold" });
    // Only once the view has passed the update does its absence say anything: zone b is still excluded.
    const updated = (await writer.get(regs[2]!.key))!.modRevision;
    await until("the update reaching the view", () => d.revision >= updated);
    expect(d.instances()).toEqual([]);
  });

  it("resyncs after compaction while cut off, emitting only the differences", async () => {
    await using proxy = await FaultProxy.start(cluster.endpoint);
    const viaProxy = client(proxy.url);
    cleanups.push(() => viaProxy.close());
    const keep = await register(writer, { service: "s4", addr: "10.0.2.1:1" });
    const gone = await register(writer, { service: "s4", addr: "10.0.2.2:1" });
    cleanups.push(
      () => keep.close(),
      () => gone.close(),
    );
    const d = discover(viaProxy, "s4");
    cleanups.push(() => d.close());
    const ledger = new ChangeLedger(d);
    await d.ready;
    proxy.refuse(true);
    proxy.cut();
    await gone.close();
    const added = await register(writer, { service: "s4", addr: "10.0.2.3:1" });
    cleanups.push(() => added.close());
    for (let i = 0; i < 5; i++) await writer.put("other", String(i));
    const { revision } = await writer.range("other");
    await writer.compact(revision);
    proxy.refuse(false);
    await until("resynced", () => d.instances().length === 2 && d.instances()[1]?.addr === "10.0.2.3:1");
    expect(ledger.problems).toEqual([]);
    expect([...ledger.view.keys()].sort()).toEqual(["s4/10.0.2.1:1", "s4/10.0.2.3:1"]);
  });

  it("stays exact across 100 stream cuts while instances come, change and go", async () => {
    await using proxy = await FaultProxy.start(cluster.endpoint);
    const viaProxy = client(proxy.url);
    cleanups.push(() => viaProxy.close());
    const codec = goEndpointsCodec();
    const d = discover(viaProxy, "s5");
    cleanups.push(() => d.close());
    const ledger = new ChangeLedger(d);
    const warnings: DiscoveryWarning[] = [];
    d.on("warning", (w) => warnings.push(w));
    await d.ready;
    const live = new Map<number, Registration>();
    let seed = 7;
    const rand = (n: number) => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed % n;
    };
    for (let cut = 0; cut < 100; cut++) {
      for (let step = 0; step < 3; step++) {
        const n = rand(12);
        const r = live.get(n);
        if (!r) live.set(n, await register(writer, { service: "s5", addr: `10.0.3.${n}:1`, codec }));
        else if (rand(2) === 0) await r.update({ cut, step });
        else {
          live.delete(n);
          await r.close();
        }
      }
      proxy.cut();
      if (cut % 10 === 0) await new Promise((r) => setTimeout(r, 30));
    }
    cleanups.push(() => Promise.all([...live.values()].map((r) => r.close())));
    const truth = await writer.range({ prefix: "s5/" });
    await until("view caught up", () => d.revision >= truth.revision, 30_000);
    const expected = new Map(
      truth.kvs.map((kv) => {
        const r = codec.decode("s5", kv.keyText(), kv.value);
        return [kv.keyText(), r.kind === "instance" ? r.instance : undefined];
      }),
    );
    expect(d.entries()).toEqual(expected);
    expect(ledger.view).toEqual(expected);
    expect(ledger.problems).toEqual([]);
    expect(warnings).toEqual([]);
    expect(ledger.changes).toBeGreaterThan(100);
  }, 120_000);

  it("ends (iterators finish) when its client is closed, instead of retrying forever", async () => {
    const own = client(cluster.endpoint);
    const d = discover(own, "s6");
    await d.ready;
    const iterating = (async () => {
      let n = 0;
      for await (const _ of d) n++;
      return n;
    })();
    await own.close();
    expect(await iterating).toBe(1);
  });

  it("reports 'unavailable' while etcd cannot be read, then becomes ready when it can", async () => {
    await using proxy = await FaultProxy.start(cluster.endpoint);
    proxy.refuse(true);
    const own = new Etcd({ endpoints: proxy.url, timeoutMs: 500 });
    cleanups.push(() => own.close());
    const view = discover(own, "unreach-svc");
    cleanups.push(() => view.close());
    const errors: Error[] = [];
    view.on("unavailable", (e) => errors.push(e));
    let ready = false;
    view.ready.then(
      () => {
        ready = true;
      },
      () => {},
    );
    await until("an unavailable report", () => errors.length > 0, 10_000);
    expect(ready).toBe(false);
    expect(errors[0]).toBeInstanceOf(EtcdError);
    expect(errors[0]!.message).toContain(proxy.url);
    await register(writer, { service: "unreach-svc", addr: "10.0.0.9:80", ttl: 5 }).then((r) =>
      cleanups.push(() => r.close()),
    );
    proxy.refuse(false);
    await view.ready;
    expect(addrs(view.instances())).toEqual(["10.0.0.9:80"]);
  });
});

describe("discover() with auth on (tokens expire after 2 s)", () => {
  const ROOT_PW = "root-Secret-pw-123";
  const VIEWER_PW = "viewer-Secret-pw-456";
  let cluster: EtcdCluster;
  let root: Etcd;
  const cleanups: (() => Promise<unknown> | unknown)[] = [];
  const asRoot = (args: string[]) => etcdctl(cluster.endpoint, args, [`--user=root:${ROOT_PW}`]);
  const addrs = (list: ServiceInstance[]) => list.map((i) => i.addr);

  beforeAll(async () => {
    cluster = await startEtcd({ args: ["--auth-token-ttl=2"] });
    const ep = cluster.endpoint;
    await enableAuth(ep, {
      rootPassword: ROOT_PW,
      role: {
        name: "viewer",
        grants: [["read", "authsvc/"]],
        users: [{ username: "viewer", password: VIEWER_PW }],
      },
    });
    root = new Etcd({ endpoints: ep, timeoutMs: 3000, auth: { username: "root", password: ROOT_PW } });
  });
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c();
  });
  afterAll(async () => {
    await root?.close();
    await cluster?.close();
  });

  /**
   * An instance of "authsvc" at `addr` registered by root, and the ready view of it through `viewer`
   * (closed after the test) with its "unavailable" reports collected.
   */
  async function viewedInstance(viewer: Etcd, addr: string) {
    cleanups.push(() => viewer.close());
    const a = await register(root, { service: "authsvc", addr });
    cleanups.push(() => a.close());
    const d = discover(viewer, "authsvc");
    cleanups.push(() => d.close());
    await d.ready;
    const errors: Error[] = [];
    d.on("unavailable", (e) => errors.push(e));
    return { d, errors };
  }

  it("a refused watch is reported as unavailable, the view is kept, and it watches again", async () => {
    await using proxy = await FaultProxy.start(cluster.endpoint);
    const tap = new CallTap();
    const viewer = tap.client({
      endpoints: proxy.url,
      timeoutMs: 3000,
      auth: { username: "viewer", password: VIEWER_PW },
    });
    const { d, errors } = await viewedInstance(viewer, "10.0.9.1:1");
    // No read permission any more: the watch is refused when created again on a new stream.
    cleanups.push(() => asRoot(["role", "grant-permission", "viewer", "--prefix=true", "read", "authsvc/"]));
    await asRoot(["role", "revoke-permission", "viewer", "--prefix=true", "authsvc/"]);
    proxy.cut();
    await until("an unavailable report", () => errors.length > 0);
    expect(errors[0]).toBeInstanceOf(WatchCanceledError);
    expect(addrs(d.instances())).toEqual(["10.0.9.1:1"]);
    await asRoot(["role", "grant-permission", "viewer", "--prefix=true", "read", "authsvc/"]);
    const b = await register(root, { service: "authsvc", addr: "10.0.9.2:1" });
    cleanups.push(() => b.close());
    await until("the new instance in the view", () => d.instances().length === 2);
    // From here on the view follows a watch: a change arrives without another read.
    const reads = tap.of("Range").length;
    await b.update({ v: 2 });
    await until("the update seen", () => (d.entries().get(b.key)?.metadata as { v?: number })?.v === 2);
    expect(tap.of("Range").length).toBe(reads);
  }, 60_000);

  it("a view whose credentials stop working (AuthFailedError) reports it, keeps its view, and follows again once they work", async () => {
    await using proxy = await FaultProxy.start(cluster.endpoint);
    const viewer = new Etcd({
      endpoints: proxy.url,
      timeoutMs: 3000,
      auth: { username: "viewer", password: VIEWER_PW },
    });
    const { d, errors } = await viewedInstance(viewer, "10.0.9.4:1");
    // The password changes elsewhere; once the viewer's token has expired (2 s), the watch stream
    // reopened after the cut must authenticate again, and cannot.
    cleanups.push(() => root.auth.users.changePassword("viewer", VIEWER_PW));
    await root.auth.users.changePassword("viewer", "another-Viewer-pw-789");
    await new Promise((resolve) => setTimeout(resolve, 3000));
    proxy.cut();
    await until(
      "an AuthFailedError reported",
      () => errors.some((e) => e instanceof AuthFailedError),
      20_000,
    );
    expect(d.state).toBe("unavailable");
    expect(d.instances().map((i) => i.addr)).toContain("10.0.9.4:1");
    // The password works again: the view reads, watches, and follows on.
    await root.auth.users.changePassword("viewer", VIEWER_PW);
    const b = await register(root, { service: "authsvc", addr: "10.0.9.5:1" });
    cleanups.push(() => b.close());
    await until("the new instance in the view", () => d.entries().has(b.key), 30_000);
    await b.close();
    await until("the removal seen", () => !d.entries().has(b.key), 30_000);
    expect(d.state).toBe("live");
  }, 60_000);

  it("a view whose watch keeps being refused reads again with backoff, not in a loop", async () => {
    await using proxy = await FaultProxy.start(cluster.endpoint);
    const tap = new CallTap();
    const viewer = tap.client({
      endpoints: proxy.url,
      timeoutMs: 3000,
      auth: { username: "viewer", password: VIEWER_PW },
    });
    cleanups.push(() => viewer.close());
    const d = discover(viewer, "authsvc");
    cleanups.push(() => d.close());
    await d.ready;
    // Nothing uses the viewer's token for 3 s: it expires, and the watch stream reopened after the cut
    // carries a dead token (until the client learns to open streams with a fresh one, every watch
    // created on it is refused while reads, which authenticate again, work).
    await new Promise((resolve) => setTimeout(resolve, 3000));
    proxy.cut();
    const c = await register(root, { service: "authsvc", addr: "10.0.9.3:1" });
    cleanups.push(() => c.close());
    await until("the new instance in the view", () => d.entries().has(c.key));
    // Reads back off from 100 ms to 5 s (jittered, at least half of each step) until a watch holds:
    // 7 reads need 3150 ms, 8 need 5650 ms. Without the backoff, one every 100 ms or less.
    const since = performance.now();
    await new Promise((resolve) => setTimeout(resolve, 3000));
    const reads = tap.of("Range", since).filter((call) => call.outcome === true).length;
    expect(reads).toBeLessThanOrEqual(7);
    await c.close();
    await until("the removal seen", () => !d.entries().has(c.key));
  }, 60_000);
});
