import * as grpc from "@grpc/grpc-js";
import { beforeAll, describe, expect, it } from "vitest";
import type { Etcd } from "../../src/client/etcd.js";
import { discover, type Registration, register } from "../../src/discovery/index.js";
import { registerEtcdResolver } from "../../src/grpc-js/index.js";
import { useEtcd } from "../support/etcd-fixture.js";
import { GrpcTestServer, grpcStatus } from "./servers.js";
import { CLIENT_OPTIONS, Traffic, until } from "./support.js";

/**
 * `locality` and `slowStart` of the grpc-js `etcd_ts` policy: real grpc-js servers registered with zones
 * in a real etcd, a plain `grpc.Client` on `etcd:///<service>` whose service config asks for them. Counts
 * are what each server received; nothing is timed.
 */
describe("grpc-js etcd_ts policy: locality and slow start", () => {
  const env = useEtcd({ client: CLIENT_OPTIONS });
  const { cleanups } = env;
  let etcd: Etcd;

  beforeAll(() => {
    etcd = env.client();
    registerEtcdResolver(etcd);
  });

  /** Registers `server` under `service` in `zone`. */
  async function registered(service: string, server: GrpcTestServer, zone?: string): Promise<Registration> {
    const registration = await register(etcd, { service, addr: server.addr, ttl: 5, zone });
    cleanups.push(() => registration.close());
    return registration;
  }

  /** A server (on `port` when given: a restart on the same address) registered under `service` in `zone`. */
  async function instance(service: string, zone?: string, port?: number) {
    const server = await GrpcTestServer.start(0, port);
    cleanups.push(() => server.kill());
    return { server, registration: await registered(service, server, zone) };
  }

  function channel(service: string, config: object): grpc.Client {
    const client = new grpc.Client(`etcd:///${service}`, grpc.credentials.createInsecure(), {
      "grpc.service_config": JSON.stringify({ loadBalancingConfig: [{ etcd_ts: config }] }),
    });
    cleanups.push(() => client.close());
    return client;
  }

  async function calls(client: grpc.Client, n: number): Promise<void> {
    for (let i = 0; i < n; i++) await grpcStatus(client);
  }

  function callsOf(servers: { server: GrpcTestServer }[]): number[] {
    return servers.map((s) => s.server.calls);
  }

  it("calls stay in the caller's zone, spill when its instances are deregistered, come back", async () => {
    const service = "greeter-zones";
    const local = [await instance(service, "a"), await instance(service, "a")];
    const remote = await instance(service, "b");
    const view = discover(etcd, service);
    cleanups.push(() => view.close());
    const client = channel(service, { policy: "round-robin", locality: { zone: "a" } });
    // Until both zone-a instances are connected, the READY set may be zone b alone (which spills).
    await until("both zone-a instances answering", async () => {
      await grpcStatus(client);
      return local.every((i) => i.server.calls > 0);
    });
    let before = remote.server.calls;
    await calls(client, 30);
    expect(remote.server.calls).toBe(before);

    // Zone a leaves the view (its servers keep running): calls spill to zone b, and only there.
    for (const i of local) await i.registration.deregister();
    await until("the removals reaching the view", () => view.entries().size === 1);
    await until("calls spilling to zone b", async () => {
      await grpcStatus(client);
      return remote.server.calls > before;
    });
    const localBefore = callsOf(local);
    before = remote.server.calls;
    await calls(client, 20);
    expect(callsOf(local)).toEqual(localBefore);
    expect(remote.server.calls).toBe(before + 20);

    // Zone a back: once one of its instances is connected, zone b gets nothing again.
    for (const i of local) i.registration = await registered(service, i.server, "a");
    await until("zone a answering again", async () => {
      await grpcStatus(client);
      return callsOf(local).some((n, k) => n > localBefore[k]!);
    });
    before = remote.server.calls;
    await calls(client, 30);
    expect(remote.server.calls).toBe(before);
  });

  it.each([
    ["with slowStart, a newly registered instance gets a clearly smaller share", { windowMs: 120_000 }],
    ["without slowStart, it gets an equal share at once", undefined],
  ])("%s", async (_, slowStart) => {
    const service = `greeter-warm-${slowStart ? "on" : "off"}`;
    const old = await instance(service);
    const client = channel(service, { policy: "round-robin", slowStart });
    // The policy's first endpoint list holds `old` only: it does not ramp.
    await grpcStatus(client);
    const fresh = await instance(service);
    await until("the new instance connected and answering", async () => {
      await grpcStatus(client);
      return fresh.server.calls > 0;
    });
    const before = callsOf([old, fresh]);
    await calls(client, 100);
    const [oldCalls, freshCalls] = callsOf([old, fresh]).map((n, k) => n - before[k]!) as [number, number];
    expect(oldCalls + freshCalls).toBe(100);
    if (slowStart) {
      // A 2-minute ramp from 10 %: the 100 calls end early in it, however slow the machine.
      expect(freshCalls).toBeLessThan(30);
      expect(freshCalls).toBeLessThan(oldCalls / 2);
    } else {
      // Smooth weighted round robin over two equal weights: half each.
      expect(freshCalls).toBe(50);
    }
  });

  it.each<[string, object]>([
    ["locality", { policy: "round-robin", locality: { zone: "a" } }],
    ["slowStart", { policy: "round-robin", slowStart: { windowMs: 2000 } }],
  ])(
    "rolling restart under %s with zero failed calls: each deregistered, stopped, restarted, registered",
    async (name, config) => {
      const service = `greeter-rolling-${name}`;
      const live: { server: GrpcTestServer; registration: Registration; zone: string }[] = [];
      for (const zone of ["a", "a", "b"]) live.push({ ...(await instance(service, zone)), zone });
      const view = discover(etcd, service);
      cleanups.push(() => view.close());
      const client = channel(service, config);
      const traffic = new Traffic(() => grpcStatus(client));
      await traffic.flows("traffic");
      for (let i = 0; i < 3; i++) {
        const old = live.shift()!;
        await old.registration.deregister();
        await until("the removal reaching the view", () => !view.entries().has(old.registration.key));
        await old.server.shutdown();
        expect(old.server.inFlight).toBe(0);
        const port = Number(old.server.addr.split(":")[1]);
        live.push({ ...(await instance(service, old.zone, port)), zone: old.zone });
        await traffic.flows("traffic continues");
      }
      // Under locality zone a's restarted instances take the calls again; under slow start every one, ramping.
      await until("the restarted instances answering", () =>
        live.filter((n) => name !== "locality" || n.zone === "a").every((n) => n.server.calls > 0),
      );
      await traffic.stop();
      expect(traffic.failures).toEqual([]);
    },
  );

  it("refuses bad locality and slowStart fields in a service config, by the balanced transport's rules", () => {
    const parse = (config: object) => grpc.experimental.parseLoadBalancingConfig({ etcd_ts: config });
    expect(() => parse({ locality: { zone: "" } })).toThrow(/locality\.zone/);
    expect(() => parse({ locality: null })).toThrow(/locality/);
    expect(() => parse({ locality: { zone: "a", minShare: 2 } })).toThrow(/locality\.minShare/);
    expect(() => parse({ slowStart: { windowMs: 0 } })).toThrow(/slowStart\.windowMs/);
    expect(() => parse({ slowStart: 5 })).toThrow(/slowStart/);
    expect(parse({ slowStart: false }).toJsonObject()).toEqual({ etcd_ts: { policy: "round-robin" } });
    expect(parse({ locality: { zone: "a" }, slowStart: {} }).toJsonObject()).toEqual({
      etcd_ts: {
        policy: "round-robin",
        locality: { zone: "a", minInstances: 1, minShare: 0 },
        slowStart: { windowMs: 60_000, aggression: 1, minWeightPercent: 10 },
      },
    });
  });
});
