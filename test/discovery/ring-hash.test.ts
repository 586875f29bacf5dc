import { createContextValues } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { beforeAll, describe, expect, it } from "vitest";
import { InvalidArgumentError } from "../../src/client/core/errors.js";
import type { Etcd } from "../../src/client/etcd.js";
import {
  type BalancedTransportOptions,
  createBalancedTransport,
  type Discovery,
  discover,
  hashKey,
  type Registration,
} from "../../src/discovery/index.js";
import { useEtcd } from "../support/etcd-fixture.js";
import type { ConnectTestServer } from "./servers.js";
import { balancedApi, CLIENT_OPTIONS, registeredServer, Traffic, until } from "./support.js";

/**
 * Affinity with real servers registered in a real etcd, through the public API: `register()`, `discover()`
 * and the balanced Connect transport under `ring-hash`. Each server answers with its own address, so
 * where a key went is read from the answer; nothing is timed.
 */
describe("createBalancedTransport() ring-hash", () => {
  const env = useEtcd({ client: CLIENT_OPTIONS });
  const { cleanups } = env;
  let etcd: Etcd;

  beforeAll(() => {
    etcd = env.client();
  });

  function instance(service: string, port?: number) {
    return registeredServer(etcd, cleanups, service, { port });
  }

  function balanced(view: Discovery, extra: Partial<BalancedTransportOptions> = {}) {
    return balancedApi(cleanups, { discovery: view, policy: "ring-hash", ...extra });
  }

  function watch(service: string) {
    const view = discover(etcd, service);
    cleanups.push(() => view.close());
    return view;
  }

  const KEYS = Array.from({ length: 30 }, (_, i) => `tenant-${i}`);

  it("sends each of 30 keys to one instance, twice, by header or context value; a deregistered instance moves only its keys", async () => {
    const service = "affinity";
    const nodes = [await instance(service), await instance(service), await instance(service)];
    const view = watch(service);
    await until("3 instances in the view", () => view.instances().length === 3);
    const { api } = balanced(view);

    const byHeader = async (key: string) =>
      (await api.status({}, { headers: { "x-etcd-ts-hash-key": key } })).version;
    const byContext = async (key: string) =>
      (await api.status({}, { contextValues: createContextValues().set(hashKey, key) })).version;

    const first = new Map<string, string>();
    for (const key of KEYS) first.set(key, await byHeader(key));
    for (const key of KEYS) expect(await byContext(key)).toBe(first.get(key));
    expect(nodes.reduce((n, x) => n + x.server.calls, 0)).toBe(60);
    // The keys spread (ports are random, so is the ring): all 30 on one of 3 has a chance of about 3⁻²⁹.
    expect(new Set(first.values()).size).toBeGreaterThanOrEqual(2);

    // The instance holding the most keys leaves: only its keys move, to the other two.
    const count = (addr: string) => KEYS.filter((k) => first.get(k) === addr).length;
    const leaving = nodes.reduce((a, b) => (count(a.server.addr) >= count(b.server.addr) ? a : b));
    await leaving.registration.deregister();
    await until("the removal reaching the view", () => view.instances().length === 2);
    const callsBefore = leaving.server.calls;
    for (const key of KEYS) {
      const now = await byHeader(key);
      if (first.get(key) === leaving.server.addr) expect(now).not.toBe(leaving.server.addr);
      else expect(now).toBe(first.get(key));
    }
    expect(leaving.server.calls).toBe(callsBefore);

    // It comes back (same address, same key): its keys return to it, the others stay.
    leaving.server.kill();
    const back = await instance(service, Number(leaving.server.addr.split(":")[1]));
    await until("the instance back in the view", () => view.instances().length === 3);
    for (const key of KEYS) expect(await byContext(key)).toBe(first.get(key));
    expect(back.server.calls).toBe(count(leaving.server.addr));
  });

  it("an instance killed with its lease alive: its keys fall through to the next instance on the ring, the others stay", async () => {
    const service = "affinity-dead";
    const nodes = [await instance(service), await instance(service), await instance(service)];
    const view = watch(service);
    await until("3 instances in the view", () => view.instances().length === 3);
    // Status has no idempotency option: let the refused call go on to another instance.
    const { api, transport } = balanced(view, { isRetryable: () => true });
    const send = async (key: string) =>
      (await api.status({}, { headers: { "x-etcd-ts-hash-key": key } })).version;
    const first = new Map<string, string>();
    for (const key of KEYS) first.set(key, await send(key));
    const count = (addr: string) => KEYS.filter((k) => first.get(k) === addr).length;
    const dead = nodes.reduce((a, b) => (count(a.server.addr) >= count(b.server.addr) ? a : b));
    dead.server.kill();
    // The first round: its keys are refused there and retried on along the ring, and it is ejected.
    // The second: it is left out of picking, and each of its keys goes where the retry took it.
    const fallback = new Map<string, string>();
    for (const round of [1, 2]) {
      for (const key of KEYS) {
        const now = await send(key);
        if (first.get(key) !== dead.server.addr) expect(now).toBe(first.get(key));
        else if (round === 1) fallback.set(key, now);
        else expect(now).toBe(fallback.get(key));
      }
    }
    expect(fallback.size).toBe(count(dead.server.addr));
    expect([...fallback.values()]).not.toContain(dead.server.addr);
    expect(transport.ejected()).toEqual([dead.registration.key]);
  });

  it("reads a configured header; calls without a key reach every instance", async () => {
    const service = "affinity-header";
    const nodes = [await instance(service), await instance(service)];
    const view = watch(service);
    await until("2 instances in the view", () => view.instances().length === 2);
    const { api } = balanced(view, { ringHash: { header: "X-Tenant" } });
    for (const key of KEYS) {
      const a = (await api.status({}, { headers: { "x-tenant": key } })).version;
      expect((await api.status({}, { headers: [["X-Tenant", key]] })).version).toBe(a);
    }
    // No key: a random (weighted) instance per call. 40 calls all on one of 2 has a chance of 2⁻³⁹.
    const before = nodes.map((n) => n.server.calls);
    for (let i = 0; i < 40; i++) await api.status({});
    expect(nodes.every((n, i) => n.server.calls > before[i]!)).toBe(true);
  });

  it("rolling restart under ring-hash with zero failed calls: each drained, deregistered, killed, restarted, registered", async () => {
    const service = "rolling-ring";
    const live: { server: ConnectTestServer; registration: Registration }[] = [];
    for (let i = 0; i < 3; i++) live.push(await instance(service));
    const view = watch(service);
    await until("3 instances in the view", () => view.instances().length === 3);
    const { api, transport } = balanced(view);
    const traffic = new Traffic((w, i) =>
      api.status({}, { headers: { "x-etcd-ts-hash-key": `k-${w}-${i % 50}` } }),
    );
    await traffic.flows("traffic");
    for (let i = 0; i < 3; i++) {
      const old = live.shift()!;
      await old.registration.drain();
      await until(
        "the drain reaching the view",
        () => view.entries().get(old.registration.key)?.draining === true,
      );
      await until("no calls in flight", () => (transport.inFlight().get(old.registration.key) ?? 0) === 0);
      await old.registration.deregister();
      await until("the removal reaching the view", () => !view.entries().has(old.registration.key));
      old.server.kill();
      live.push(await instance(service, Number(old.server.addr.split(":")[1])));
      await traffic.flows("traffic continues");
    }
    await until("every restarted instance answering", () => live.every((n) => n.server.calls > 0));
    await traffic.stop();
    expect(traffic.failures).toEqual([]);
  });

  it("refuses bad ring-hash options before starting a discovery, and a hashKey that is not a string before sending", async () => {
    const base = { etcd, service: "x", createTransport: () => createGrpcTransport({ baseUrl: "http://x" }) };
    for (const ringHash of [null, { header: "" }, { header: "a:b" }, { pointsPerWeight: -1 }]) {
      expect(() =>
        createBalancedTransport({ ...base, policy: "ring-hash", ringHash: ringHash as never }),
      ).toThrow(InvalidArgumentError);
    }
    const service = "affinity-bad-key";
    const node = await instance(service);
    const view = watch(service);
    await until("the instance in the view", () => view.instances().length === 1);
    const { api } = balanced(view);
    const contextValues = createContextValues().set(hashKey, 7 as unknown as string);
    await expect(api.status({}, { contextValues })).rejects.toThrow("hashKey");
    expect(node.server.calls).toBe(0);
  });
});
