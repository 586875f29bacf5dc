import { once } from "node:events";
import { Code, ConnectError } from "@connectrpc/connect";
import { beforeAll, describe, expect, it } from "vitest";
import type { Etcd } from "../../src/client/etcd.js";
import { type createBalancedTransport, discover, type Registration } from "../../src/discovery/index.js";
import type { EtcdCluster } from "../../src/testing/index.js";
import { useEtcd } from "../support/etcd-fixture.js";
import { within } from "../support/wait.js";
import type { ConnectTestServer } from "./servers.js";
import { balancedApi, CLIENT_OPTIONS, registeredServer, Traffic, until } from "./support.js";

describe("createBalancedTransport() with connect-node servers registered in etcd", () => {
  const env = useEtcd({ client: CLIENT_OPTIONS });
  const { cleanups } = env;
  let _cluster: EtcdCluster;
  let etcd: Etcd;

  beforeAll(() => {
    _cluster = env.cluster;
    etcd = env.client();
  });

  function instance(service: string, weight = 1, delayMs = 0) {
    return registeredServer(etcd, cleanups, service, { weight, delayMs });
  }

  /** A view of `service` that the test reads too: it sees what the transport sees, when it sees it. */
  function view(service: string) {
    const d = discover(etcd, service);
    cleanups.push(() => d.close());
    return d;
  }

  function balanced(service: string, extra: Partial<Parameters<typeof createBalancedTransport>[0]> = {}) {
    return balancedApi(cleanups, { etcd, service, ...extra });
  }

  it("spreads calls by weight and picks up added and removed instances", async () => {
    const a = await instance("rr", 1);
    const b = await instance("rr", 2);
    const rr = view("rr");
    const { api } = balanced("rr", { discovery: rr });
    const hits = new Map<string, number>();
    for (let i = 0; i < 30; i++) {
      const { version } = await api.status({});
      hits.set(version, (hits.get(version) ?? 0) + 1);
    }
    expect(hits.get(a.server.addr)).toBe(10);
    expect(hits.get(b.server.addr)).toBe(20);
    const c = await instance("rr", 1);
    await until("c used", async () => (await api.status({})).version === c.server.addr);
    await b.registration.deregister();
    // The transport applies each change of its view as the view emits it: once the view has dropped b,
    // b is never called again.
    await until("b's removal reaching the view", () => !rr.entries().has(b.registration.key));
    const before = b.server.calls;
    for (let i = 0; i < 20; i++) await api.status({});
    expect(b.server.calls).toBe(before);
  });

  it("retries a retryable call on another instance when one dies, and only a retryable one", async () => {
    const a = await instance("die");
    const b = await instance("die");
    const retrying = balanced("die", { isRetryable: () => true }).api;
    const strict = balanced("die").api; // Status has no idempotency option: not retried by default
    await retrying.status({});
    await strict.status({});
    // Still registered: without outlier ejection, clients would keep picking it until its lease expires;
    // with it, the first refused call ejects it (outlier-ejection.test.ts).
    a.server.kill();
    for (let i = 0; i < 10; i++) expect((await retrying.status({})).version).toBe(b.server.addr);
    let failures = 0;
    for (let i = 0; i < 10; i++) {
      try {
        await strict.status({});
      } catch (err) {
        expect(ConnectError.from(err).code).toBe(Code.Unavailable);
        failures++;
      }
    }
    expect(failures).toBeGreaterThan(0);
  });

  it("p2c sends new calls to the instance with fewer in flight; round robin does not", async () => {
    const busy = await instance("p2c");
    const idle = await instance("p2c");
    // Calls that reach `busy` stay in flight until released: its load never drops by chance, whatever
    // the machine's speed, so where each new call goes follows from the policy alone.
    const release = busy.server.hold();
    cleanups.push(release);
    /** Every call made, settled to its error (if any): the held ones end after `release()`. */
    const made: Promise<unknown>[] = [];
    /** `n` calls one after another: each is answered (by `idle`) or arrives at `busy` and stays there. */
    async function calls(policy: "p2c" | "round-robin", n: number) {
      const { api } = balanced("p2c", { policy });
      const [busy0, idle0] = [busy.server.calls, idle.server.calls];
      for (let i = 0; i < n; i++) {
        const arrival = new AbortController();
        const arrivedAtBusy = once(busy.server.events, "call", { signal: arrival.signal }).catch(() => {});
        const call = api.status({});
        made.push(
          call.then(
            () => undefined,
            (err: unknown) => err,
          ),
        );
        await within(Promise.race([call, arrivedAtBusy]), `${policy} call ${i} answered or held`);
        arrival.abort();
      }
      return { busy: busy.server.calls - busy0, idle: idle.server.calls - idle0 };
    }
    // p2c compares the two instances' calls in flight: once one call is held on `busy` (the first tie
    // is a coin toss), every later call sees 1 there against 0 on `idle`.
    const p2c = await calls("p2c", 40);
    expect(p2c.busy).toBeLessThanOrEqual(1);
    expect(p2c.idle).toBeGreaterThanOrEqual(39);
    // Round robin alternates whatever is in flight: half the calls go to `busy` and pile up there.
    const rr = await calls("round-robin", 40);
    expect(rr).toEqual({ busy: 20, idle: 20 });
    release();
    expect(await within(Promise.all(made), "the held calls to end once released")).toEqual(
      Array(80).fill(undefined),
    );
  });

  it("rolling restart of 3 instances with zero failed calls (drain first)", async () => {
    const service = "rolling";
    const live: { server: ConnectTestServer; registration: Registration }[] = [];
    for (let i = 0; i < 3; i++) live.push(await instance(service, 1, 5));
    const rolling = view(service);
    const { api, transport } = balanced(service, { policy: "p2c", discovery: rolling });
    const seen = new Set<string>();
    const traffic = new Traffic(async () => seen.add((await api.status({})).version));
    await traffic.flows("traffic");
    for (let i = 0; i < 3; i++) {
      const old = live.shift()!;
      await old.registration.drain();
      // New calls stop going to it once the transport's view has the drain; then its calls in flight end.
      await until(
        "the drain reaching the view",
        () => rolling.entries().get(old.registration.key)?.draining === true,
      );
      await until("no calls in flight", () => (transport.inFlight().get(old.registration.key) ?? 0) === 0);
      await old.registration.deregister();
      await old.server.shutdown();
      live.push(await instance(service, 1, 5));
      await traffic.flows("traffic continues");
    }
    await traffic.stop();
    expect(traffic.failures).toEqual([]);
    for (const n of live) expect(seen.has(n.server.addr)).toBe(true);
    expect(traffic.ok).toBeGreaterThan(80);
  });
});
