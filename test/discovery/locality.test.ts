import { createGrpcTransport } from "@connectrpc/connect-node";
import { beforeAll, describe, expect, it } from "vitest";
import { InvalidArgumentError } from "../../src/client/core/errors.js";
import type { Etcd } from "../../src/client/etcd.js";
import {
  type BalancedTransportOptions,
  createBalancedTransport,
  type Discovery,
  discover,
  register,
} from "../../src/discovery/index.js";
import { useEtcd } from "../support/etcd-fixture.js";
import { ConnectTestServer } from "./servers.js";
import { balancedApi, CLIENT_OPTIONS, registeredServer, until } from "./support.js";

/**
 * Zone preference with spill-over, with real servers registered in a real etcd through the public API
 * (`register()` with `zone`/`region`, the balanced Connect transport with `locality`). Counts are what each
 * server received; nothing is timed.
 */
describe("createBalancedTransport() locality", () => {
  const env = useEtcd({ client: CLIENT_OPTIONS });
  const { cleanups } = env;
  let etcd: Etcd;

  beforeAll(() => {
    etcd = env.client();
  });

  /** A server registered under `service` in `zone` / `region` (on `port` when given). */
  function instance(service: string, zone: string, region: string, port?: number) {
    return registeredServer(etcd, cleanups, service, { zone, region, port });
  }

  function balanced(view: Discovery, extra: Partial<BalancedTransportOptions>) {
    return balancedApi(cleanups, { discovery: view, ...extra });
  }

  function watch(service: string) {
    const view = discover(etcd, service);
    cleanups.push(() => view.close());
    return view;
  }

  /** Calls received by each server while `n` calls are made one after another (all must succeed). */
  async function spread(
    api: ReturnType<typeof balanced>["api"],
    n: number,
    servers: Record<string, ConnectTestServer>,
  ): Promise<Record<string, number>> {
    const before = Object.fromEntries(Object.entries(servers).map(([name, s]) => [name, s.calls]));
    for (let i = 0; i < n; i++) await api.status({});
    return Object.fromEntries(Object.entries(servers).map(([name, s]) => [name, s.calls - before[name]!]));
  }

  it("keeps calls in the zone, spills to the region then elsewhere as instances drain, comes back", async () => {
    const service = "zoned";
    const a1 = await instance(service, "a", "r1");
    const a2 = await instance(service, "a", "r1");
    const b1 = await instance(service, "b", "r1");
    const c1 = await instance(service, "c", "r2");
    const view = watch(service);
    await until("the view to hold 4 instances", () => view.instances().length === 4);
    // The zone and region are in the value's etcdts field, beside Go's Op/Addr/Metadata, and read back.
    const raw = (await etcd.get(a1.registration.key))?.json();
    expect(raw).toMatchObject({ Op: 0, Addr: a1.server.addr, etcdts: { zone: "a", region: "r1" } });
    expect(view.entries().get(c1.registration.key)).toMatchObject({ zone: "c", region: "r2" });
    const { api } = balanced(view, { locality: { zone: "a", region: "r1", minInstances: 2 } });
    const servers = { a1: a1.server, a2: a2.server, b1: b1.server, c1: c1.server };

    // Two healthy in zone a: every call stays there (round robin: half each).
    expect(await spread(api, 40, servers)).toEqual({ a1: 20, a2: 20, b1: 0, c1: 0 });

    // a1 drains: zone a is under 2; the rest of region r1 is added, c1 (another region) still gets nothing.
    await a1.registration.drain();
    await until(
      "the view to see a1 draining",
      () => view.entries().get(a1.registration.key)?.draining === true,
    );
    expect(await spread(api, 40, servers)).toEqual({ a1: 0, a2: 20, b1: 20, c1: 0 });

    // b1 drains too: region r1 is under 2 as well; every healthy instance.
    await b1.registration.drain();
    await until(
      "the view to see b1 draining",
      () => view.entries().get(b1.registration.key)?.draining === true,
    );
    expect(await spread(api, 40, servers)).toEqual({ a1: 0, a2: 20, b1: 0, c1: 20 });

    // A new instance in zone a: two again, calls come back to the zone.
    const a3 = await instance(service, "a", "r1");
    await until("the view to see a3", () => view.entries().has(a3.registration.key));
    expect(await spread(api, 40, { ...servers, a3: a3.server })).toEqual({
      a1: 0,
      a2: 20,
      b1: 0,
      c1: 0,
      a3: 20,
    });
  });

  it("spills to the other zone when an in-zone instance is killed (ejected), comes back once it serves again", async () => {
    const service = "zoned-kill";
    const a1 = await instance(service, "a", "r1");
    const a2 = await instance(service, "a", "r1");
    const b1 = await instance(service, "b", "r1");
    const view = watch(service);
    await until("the view to hold 3 instances", () => view.instances().length === 3);
    const { api, transport } = balanced(view, {
      locality: { zone: "a", minInstances: 2 },
      // Status has no idempotency option: allow the retry of the call that finds a1 dead.
      isRetryable: () => true,
      outlierDetection: { baseEjectionMs: 1000 },
    });
    const servers = { a1: a1.server, a2: a2.server, b1: b1.server };
    expect(await spread(api, 20, servers)).toEqual({ a1: 10, a2: 10, b1: 0 });

    // a1 dies with its lease alive: its first refused call ejects it; zone a is short, b1 takes calls.
    const port = Number(a1.server.addr.split(":")[1]);
    a1.server.kill();
    const dead = await spread(api, 40, servers);
    expect(transport.ejected()).toEqual([a1.registration.key]);
    expect(dead.a1).toBe(0);
    expect(dead.b1).toBeGreaterThan(0);
    expect(dead.a2 + dead.b1).toBe(40);

    // a1 serves again on its address; once its ejection ends, zone a has two and keeps every call.
    const back = await ConnectTestServer.start(0, port);
    cleanups.push(() => back.kill());
    await until("a1's ejection to end", () => transport.ejected().length === 0);
    expect(await spread(api, 20, { a1: back, a2: a2.server, b1: b1.server })).toEqual({
      a1: 10,
      a2: 10,
      b1: 0,
    });
  });

  it("refuses bad locality options, and register() a bad region, before anything starts", async () => {
    const base = { etcd, service: "x", createTransport: () => createGrpcTransport({ baseUrl: "http://x" }) };
    for (const locality of [
      null,
      {},
      { zone: "" },
      { zone: "a", minInstances: 0 },
      { zone: "a", minShare: 2 },
    ])
      expect(() => createBalancedTransport({ ...base, locality: locality as never })).toThrow(
        InvalidArgumentError,
      );
    await expect(register(etcd, { service: "x", addr: "127.0.0.1:1", region: 5 as never })).rejects.toThrow(
      InvalidArgumentError,
    );
  });
});
