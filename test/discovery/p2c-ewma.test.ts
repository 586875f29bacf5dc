import { Code, ConnectError } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { beforeAll, describe, expect, it } from "vitest";
import { InvalidArgumentError } from "../../src/client/core/errors.js";
import type { Etcd } from "../../src/client/etcd.js";
import {
  type BalancedTransportOptions,
  createBalancedTransport,
  discover,
  type Registration,
} from "../../src/discovery/index.js";
import { useEtcd } from "../support/etcd-fixture.js";
import type { ConnectTestServer } from "./servers.js";
import { balancedApi, CLIENT_OPTIONS, registeredServer, Traffic, until } from "./support.js";

/**
 * Latency- and error-aware picking with real servers registered in a real etcd, through the public API:
 * `register()`, `discover()` and the balanced Connect transport. Counts are what each server received;
 * nothing is timed. `Status` has no idempotency option, so a failed call is not retried: each failure the
 * servers answer reaches the caller.
 */
describe("createBalancedTransport() p2c-ewma and success-rate ejection", () => {
  const env = useEtcd({ client: CLIENT_OPTIONS });
  const { cleanups } = env;
  let etcd: Etcd;

  beforeAll(() => {
    etcd = env.client();
  });

  /** A server registered under `service` (on `port` when given: a restart on the same address). */
  function instance(service: string, delayMs = 0, port?: number) {
    return registeredServer(etcd, cleanups, service, { delayMs, port });
  }

  function balanced(service: string, extra: Partial<BalancedTransportOptions> = {}) {
    return balancedApi(cleanups, { etcd, service, ...extra });
  }

  /** Makes `n` calls one after another; returns the errors' codes. */
  async function calls(api: ReturnType<typeof balanced>["api"], n: number): Promise<Code[]> {
    const errors: Code[] = [];
    for (let i = 0; i < n; i++) {
      try {
        await api.status({});
      } catch (err) {
        errors.push(ConnectError.from(err).code);
      }
    }
    return errors;
  }

  it("an instance answering 200 ms slower gets under 20 % of 400 calls (a third under p2c)", async () => {
    const fast = [await instance("slow"), await instance("slow")];
    const slow = await instance("slow", 200);
    // A short decay, so that a hiccup of a busy machine on a fast instance's call is forgotten quickly.
    const { api } = balanced("slow", { policy: "p2c-ewma", p2cEwma: { decayMs: 1000 } });
    expect(await calls(api, 400)).toEqual([]);
    const received = slow.server.calls;
    expect(received + fast[0]!.server.calls + fast[1]!.server.calls).toBe(400);
    // p2c by calls in flight cannot tell: one call at a time, every instance has 0 in flight.
    expect(received).toBeLessThan(80);
  });

  it("ejects an instance failing half its calls (UNAVAILABLE, INTERNAL); takes it back once it recovers", async () => {
    const a = await instance("flaky");
    const b = await instance("flaky");
    const flaky = await instance("flaky");
    // Never two failures in a row: the consecutive-failure rule alone would never eject it.
    flaky.server.failCycle = [undefined, Code.Unavailable, undefined, Code.Internal];
    const { api, transport } = balanced("flaky", { outlierDetection: { baseEjectionMs: 2000 } });
    // Round robin: one call in three reaches it; its 20th call fills the window with 10 failures.
    const failing = await calls(api, 60);
    expect(flaky.server.calls).toBe(20);
    expect(failing.sort()).toEqual(
      [...Array(5).fill(Code.Internal), ...Array(5).fill(Code.Unavailable)].sort(),
    );
    expect(transport.ejected()).toEqual([flaky.registration.key]);
    // Ejected: the next calls go to the others and all succeed.
    expect(await calls(api, 20)).toEqual([]);
    expect(flaky.server.calls).toBe(20);

    flaky.server.failCycle = undefined;
    await until("the ejection to end", () => transport.ejected().length === 0);
    expect(await calls(api, 30)).toEqual([]);
    expect(flaky.server.calls).toBe(30);
    expect(transport.ejected()).toEqual([]);
    expect(a.server.calls + b.server.calls).toBe(40 + 20 + 20);
  });

  it("rolling restart under p2c-ewma with zero failed calls: each drained, deregistered, killed, restarted, registered", async () => {
    const service = "rolling-ewma";
    const live: { server: ConnectTestServer; registration: Registration }[] = [];
    for (let i = 0; i < 3; i++) live.push(await instance(service, 5));
    const view = discover(etcd, service);
    cleanups.push(() => view.close());
    const { api, transport } = balanced(service, { policy: "p2c-ewma", discovery: view });
    const traffic = new Traffic(() => api.status({}));
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
      // The same address and key again: the transport must take it as a new instance (a new connection,
      // no latency record), not as the dead one.
      live.push(await instance(service, 5, Number(old.server.addr.split(":")[1])));
      await traffic.flows("traffic continues");
    }
    // The restarted instances, tried as soon as they are idle and unmeasured, all take calls.
    await until("every restarted instance answering", () => live.every((n) => n.server.calls > 0));
    await traffic.stop();
    expect(traffic.failures).toEqual([]);
  });

  it("refuses an unknown policy or bad p2c-ewma options before starting a discovery", () => {
    const base = { etcd, service: "x", createTransport: () => createGrpcTransport({ baseUrl: "http://x" }) };
    expect(() => createBalancedTransport({ ...base, policy: "fastest" as never })).toThrow(
      InvalidArgumentError,
    );
    expect(() => createBalancedTransport({ ...base, policy: "p2c-ewma", p2cEwma: { decayMs: -1 } })).toThrow(
      InvalidArgumentError,
    );
    expect(() => createBalancedTransport({ ...base, outlierDetection: { failureRate: 2 } })).toThrow(
      InvalidArgumentError,
    );
  });
});
