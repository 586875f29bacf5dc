import { createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { beforeAll, describe, expect, it } from "vitest";
import { InvalidArgumentError } from "../../src/client/core/errors.js";
import type { Etcd } from "../../src/client/etcd.js";
import {
  type BalancedTransportOptions,
  type BalancePolicy,
  createBalancedTransport,
  discover,
} from "../../src/discovery/index.js";
import { useEtcd } from "../support/etcd-fixture.js";
import { TestService } from "./servers.js";
import { CLIENT_OPTIONS, registeredServer, until } from "./support.js";

/**
 * Slow start with real servers registered in a real etcd through the public API: an instance that
 * registers after the transport's first view gets a ramped share. Counts are what each server received;
 * nothing is timed.
 */
describe("createBalancedTransport() slow start", () => {
  const env = useEtcd({ client: CLIENT_OPTIONS });
  const { cleanups } = env;
  let etcd: Etcd;

  beforeAll(() => {
    etcd = env.client();
  });

  function instance(service: string) {
    return registeredServer(etcd, cleanups, service);
  }

  /** A transport over an existing instance (its first view), then a new instance registered after it. */
  async function oldAndNew(service: string, extra: Partial<BalancedTransportOptions>) {
    const old = await instance(service);
    const view = discover(etcd, service);
    cleanups.push(() => view.close());
    await view.ready;
    const transport = createBalancedTransport({
      discovery: view,
      createTransport: (addr) => createGrpcTransport({ baseUrl: `http://${addr}` }),
      ...extra,
    } as BalancedTransportOptions);
    cleanups.push(() => transport.close());
    const api = createClient(TestService, transport);
    const fresh = await instance(service);
    await until("the view to see the new instance", () => view.entries().has(fresh.registration.key));
    return { old, fresh, transport, api };
  }

  async function calls(api: ReturnType<typeof createClient<typeof TestService>>, n: number) {
    for (let i = 0; i < n; i++) await api.status({});
  }

  it.each<BalancePolicy>(["round-robin", "p2c"])(
    "%s: a new instance gets a clearly smaller share of its first calls",
    async (policy) => {
      // A 2-minute ramp: however slow the machine, the 100 calls end early in it (from 10 % of the weight).
      const { old, fresh, transport, api } = await oldAndNew(`warm-${policy}`, {
        policy,
        slowStart: { windowMs: 120_000 },
      });
      expect(transport.warming()).toEqual([fresh.registration.key]);
      await calls(api, 100);
      expect(old.server.calls + fresh.server.calls).toBe(100);
      // Equal weights would give it about 50. Ramping from 10 %, round robin gives it about 10 (9 in a run
      // here); p2c, with one call at a time, always prefers the lower (in flight + 1) / weight: the old one.
      expect(fresh.server.calls).toBeLessThan(30);
      expect(fresh.server.calls).toBeLessThan(old.server.calls / 2);
    },
  );

  it("an equal share once the ramp is over", async () => {
    const { old, fresh, transport, api } = await oldAndNew("warm-short", { slowStart: { windowMs: 1000 } });
    await until("the ramp to end", () => transport.warming().length === 0);
    await calls(api, 100);
    // Round robin with equal weights again: half each.
    expect(old.server.calls).toBe(50);
    expect(fresh.server.calls).toBe(50);
  });

  it("refuses bad slowStart options before anything starts", () => {
    const base = { etcd, service: "x", createTransport: () => createGrpcTransport({ baseUrl: "http://x" }) };
    for (const slowStart of [null, 5, { windowMs: 0 }, { aggression: -1 }, { minWeightPercent: 0 }])
      expect(() => createBalancedTransport({ ...base, slowStart: slowStart as never })).toThrow(
        InvalidArgumentError,
      );
  });
});
