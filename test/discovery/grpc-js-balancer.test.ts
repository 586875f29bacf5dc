import * as grpc from "@grpc/grpc-js";
import { beforeAll, describe, expect, it } from "vitest";
import { InvalidArgumentError } from "../../src/client/core/errors.js";
import type { Etcd } from "../../src/client/etcd.js";
import { type BalancePolicy, discover, type Registration, register } from "../../src/discovery/index.js";
import { registerEtcdResolver } from "../../src/grpc-js/index.js";
import { useEtcd } from "../support/etcd-fixture.js";
import { GrpcTestServer, grpcStatus } from "./servers.js";
import { CLIENT_OPTIONS, Traffic, until } from "./support.js";

/**
 * etcd-ts' `etcd_ts` load-balancing policy in plain grpc-js clients: real grpc-js servers registered in a
 * real etcd, a `grpc.Client` on `etcd:///<service>` whose service config names the policy. Counts are
 * what each server received; nothing is timed.
 */
describe("grpc-js etcd_ts load-balancing policy", () => {
  const env = useEtcd({ client: CLIENT_OPTIONS });
  const { cleanups } = env;
  let etcd: Etcd;

  beforeAll(() => {
    etcd = env.client();
    // No policy from the resolver: the channel's own service config decides.
    registerEtcdResolver(etcd);
    // The policy named in the resolver's options instead.
    registerEtcdResolver(etcd, { scheme: "etcd-rr", policy: "round-robin" });
  });

  /** A server registered under `service` (on `port` when given: a restart on the same address). */
  async function instance(
    service: string,
    options: { delayMs?: number; port?: number; weight?: number } = {},
  ) {
    const server = await GrpcTestServer.start(options.delayMs, options.port);
    const registration = await register(etcd, { service, addr: server.addr, ttl: 5, weight: options.weight });
    cleanups.push(
      () => server.kill(),
      () => registration.close(),
    );
    return { server, registration };
  }

  /**
   * A plain grpc-js client on `etcd:///<service>` with `etcd_ts` in its service config (or, without
   * `config`, on `etcd-rr:///<service>`, whose resolver asks for `round-robin`).
   */
  function channel(service: string, config?: object): grpc.Client {
    const client = config
      ? new grpc.Client(`etcd:///${service}`, grpc.credentials.createInsecure(), {
          "grpc.service_config": JSON.stringify({ loadBalancingConfig: [{ etcd_ts: config }] }),
        })
      : new grpc.Client(`etcd-rr:///${service}`, grpc.credentials.createInsecure());
    cleanups.push(() => client.close());
    return client;
  }

  /** Makes `n` calls one after another; returns the errors. */
  async function calls(client: grpc.Client, n: number): Promise<unknown[]> {
    const errors: unknown[] = [];
    for (let i = 0; i < n; i++) await grpcStatus(client).catch((err) => errors.push(err));
    return errors;
  }

  it.each([
    ["the channel's service config", "greeter-rr", { policy: "round-robin" }],
    ["the resolver's policy option", "greeter-rr-resolver", undefined],
  ])(
    "round-robin chosen in %s spreads calls by the weights registered in etcd (2, 1, 1)",
    async (_, service, config) => {
      const heavy = await instance(service, { weight: 2 });
      const light = [await instance(service), await instance(service)];
      const client = channel(service, config);
      // Picks go to connected instances only: wait until every one is connected and answering.
      await until("every instance answering", async () => {
        await grpcStatus(client);
        return [heavy, ...light].every((i) => i.server.calls > 0);
      });
      const before = [heavy, ...light].map((i) => i.server.calls);
      expect(await calls(client, 40)).toEqual([]);
      const received = [heavy, ...light].map((i, n) => i.server.calls - before[n]!);
      // nginx's smooth weighted round robin: over 10 full turns of the weights (total 4), exact shares.
      expect(received).toEqual([20, 10, 10]);
    },
  );

  it("p2c-ewma gives an instance answering 200 ms slower under 20 % of 400 calls", async () => {
    const fast = [await instance("greeter-slow"), await instance("greeter-slow")];
    const slow = await instance("greeter-slow", { delayMs: 200 });
    // A short decay, so that a hiccup of a busy machine on a fast instance's call is forgotten quickly.
    const client = channel("greeter-slow", { policy: "p2c-ewma", p2cEwma: { decayMs: 1000 } });
    expect(await calls(client, 400)).toEqual([]);
    expect(slow.server.calls + fast[0]!.server.calls + fast[1]!.server.calls).toBe(400);
    // Round robin would give it a third (133); p2c by calls in flight cannot tell one call at a time.
    expect(slow.server.calls).toBeLessThan(80);
  });

  it("ring-hash reads each call's key from its metadata: a key keeps its instance, keys spread", async () => {
    const servers = [
      await instance("greeter-hash"),
      await instance("greeter-hash"),
      await instance("greeter-hash"),
    ];
    const client = channel("greeter-hash", { policy: "ring-hash" });
    // Keyless calls go to a random instance among the connected ones: once each has had one, all are
    // connected, and the ring no longer changes while the keys are sent.
    await until("every instance connected and answering", async () => {
      await grpcStatus(client);
      return servers.every((i) => i.server.calls > 0);
    });
    const keyed = (key: string) => {
      const metadata = new grpc.Metadata();
      metadata.set("x-etcd-ts-hash-key", key);
      return metadata;
    };
    // The servers answer with their own address: where each key went, twice.
    const first = new Map<string, string>();
    for (let k = 0; k < 30; k++)
      first.set(`tenant-${k}`, await grpcStatus(client, 5000, keyed(`tenant-${k}`)));
    for (let k = 0; k < 30; k++)
      expect(await grpcStatus(client, 5000, keyed(`tenant-${k}`))).toBe(first.get(`tenant-${k}`));
    // 30 keys on a ring of 3 instances of 100 points each do not all hash to one instance.
    expect(new Set(first.values()).size).toBeGreaterThan(1);
  });

  it.each<BalancePolicy>(["round-robin", "p2c", "p2c-ewma", "ring-hash"])(
    "rolling restart under %s with zero failed calls: each deregistered, stopped, restarted, registered",
    async (policy) => {
      const service = `greeter-rolling-${policy}`;
      const live: { server: GrpcTestServer; registration: Registration }[] = [];
      for (let i = 0; i < 3; i++) live.push(await instance(service, { delayMs: 5 }));
      const view = discover(etcd, service);
      cleanups.push(() => view.close());
      const client = channel(service, { policy });
      // Under ring-hash, keyed calls (64 keys, so that every instance owns some): a key whose instance
      // leaves moves, and moves back.
      const keyed = (n: number) => {
        if (policy !== "ring-hash") return undefined;
        const metadata = new grpc.Metadata();
        metadata.set("x-etcd-ts-hash-key", `tenant-${n % 64}`);
        return metadata;
      };
      const traffic = new Traffic((w, i) => grpcStatus(client, 5000, keyed(w * 1000 + i)));
      await traffic.flows("traffic");
      for (let i = 0; i < 3; i++) {
        const old = live.shift()!;
        await old.registration.deregister();
        await until("the removal reaching the view", () => !view.entries().has(old.registration.key));
        // A graceful stop: GOAWAY, then the calls in flight finish (a stream grpc-js sent before it saw
        // the GOAWAY is refused unprocessed and sent again elsewhere by grpc-js itself).
        await old.server.shutdown();
        expect(old.server.inFlight).toBe(0);
        // The same address and key again: a new instance for the policy (no latency record).
        const port = Number(old.server.addr.split(":")[1]);
        live.push(await instance(service, { delayMs: 5, port }));
        await traffic.flows("traffic continues");
      }
      await until("every restarted instance answering", () => live.every((n) => n.server.calls > 0));
      await traffic.stop();
      expect(traffic.failures).toEqual([]);
    },
  );

  it("refuses an unknown policy or bad options: in the resolver's options and in a service config", () => {
    expect(() => registerEtcdResolver(etcd, { scheme: "etcd-bad", policy: "fastest" as never })).toThrow(
      InvalidArgumentError,
    );
    // grpc-js parses a service config's entry with the policy's own check (and skips an entry it refuses).
    expect(() => grpc.experimental.parseLoadBalancingConfig({ etcd_ts: { policy: "fastest" } })).toThrow(
      /policy/,
    );
    expect(() =>
      grpc.experimental.parseLoadBalancingConfig({
        etcd_ts: { policy: "p2c-ewma", p2cEwma: { decayMs: 0 } },
      }),
    ).toThrow(/p2cEwma\.decayMs/);
    expect(() => grpc.experimental.parseLoadBalancingConfig({ etcd_ts: null as never })).toThrow(/etcd_ts/);
    expect(grpc.experimental.parseLoadBalancingConfig({ etcd_ts: {} }).toJsonObject()).toEqual({
      etcd_ts: { policy: "round-robin" },
    });
  });
});
