import { Code, ConnectError, createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import type { Etcd } from "../../src/client/etcd.js";
import { createBalancedTransport, type Registration, register } from "../../src/discovery/index.js";
import { type EtcdCluster, startEtcd } from "../../src/testing/index.js";
import { ConnectTestServer, TestService } from "./servers.js";
import { client, until } from "./support.js";

describe("createBalancedTransport() with connect-node servers registered in etcd", () => {
  let cluster: EtcdCluster;
  let etcd: Etcd;
  const cleanups: (() => Promise<unknown> | unknown)[] = [];

  beforeAll(async () => {
    cluster = await startEtcd();
    etcd = client(cluster.endpoint);
  });
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c();
  });
  afterAll(async () => {
    await etcd?.close();
    await cluster?.close();
  });

  async function instance(service: string, weight = 1, delayMs = 0) {
    const server = await ConnectTestServer.start(delayMs);
    const registration = await register(etcd, { service, addr: server.addr, weight, ttl: 5 });
    cleanups.push(
      () => server.kill(),
      () => registration.close(),
    );
    return { server, registration };
  }

  function balanced(service: string, extra: Partial<Parameters<typeof createBalancedTransport>[0]> = {}) {
    const transport = createBalancedTransport({
      etcd,
      service,
      createTransport: (addr) => createGrpcTransport({ baseUrl: `http://${addr}` }),
      ...extra,
    } as Parameters<typeof createBalancedTransport>[0]);
    cleanups.push(() => transport.close());
    return { transport, api: createClient(TestService, transport) };
  }

  it("spreads calls by weight and picks up added and removed instances", async () => {
    const a = await instance("rr", 1);
    const b = await instance("rr", 2);
    const { api } = balanced("rr");
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
    // Removal reaches watchers within 100 ms (registration.test.ts); after that b is never called again.
    await new Promise((r) => setTimeout(r, 200));
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
    const slow = await instance("p2c", 1, 200);
    const fast = await instance("p2c", 1, 0);
    async function load(policy: "p2c" | "round-robin") {
      const { api } = balanced("p2c", { policy });
      const [slow0, fast0] = [slow.server.calls, fast.server.calls];
      const until = Date.now() + 800;
      await Promise.all(
        Array.from({ length: 4 }, async () => {
          while (Date.now() < until) await api.status({});
        }),
      );
      return { slow: slow.server.calls - slow0, fast: fast.server.calls - fast0 };
    }
    const p2c = await load("p2c");
    expect(p2c.fast).toBeGreaterThan(5 * p2c.slow);
    const rr = await load("round-robin");
    expect(Math.abs(rr.fast - rr.slow)).toBeLessThanOrEqual(4);
  });

  it("rolling restart of 3 instances with zero failed calls (drain first)", async () => {
    const service = "rolling";
    const live: { server: ConnectTestServer; registration: Registration }[] = [];
    for (let i = 0; i < 3; i++) live.push(await instance(service, 1, 5));
    const { api, transport } = balanced(service, { policy: "p2c" });
    let ok = 0;
    const failures: unknown[] = [];
    let running = true;
    const seen = new Set<string>();
    const workers = Array.from({ length: 4 }, async () => {
      while (running) {
        try {
          seen.add((await api.status({})).version);
          ok++;
        } catch (err) {
          failures.push(err);
        }
      }
    });
    await until("traffic", () => ok > 20);
    for (let i = 0; i < 3; i++) {
      const old = live.shift()!;
      await old.registration.drain();
      // New calls stop going to it once the client saw the drain; then wait for its calls in flight.
      await until("drained", () => (transport.inFlight().get(old.registration.key) ?? 0) === 0);
      await new Promise((r) => setTimeout(r, 50));
      await until("no calls in flight", () => (transport.inFlight().get(old.registration.key) ?? 0) === 0);
      await old.registration.deregister();
      await old.server.shutdown();
      live.push(await instance(service, 1, 5));
      const okBefore = ok;
      await until("traffic continues", () => ok > okBefore + 20);
    }
    running = false;
    await Promise.all(workers);
    expect(failures).toEqual([]);
    for (const n of live) expect(seen.has(n.server.addr)).toBe(true);
    expect(ok).toBeGreaterThan(80);
  });
});
