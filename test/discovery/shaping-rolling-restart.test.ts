import { createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { beforeAll, describe, expect, it } from "vitest";
import type { Etcd } from "../../src/client/etcd.js";
import {
  type BalancedTransportOptions,
  createBalancedTransport,
  discover,
  type Registration,
} from "../../src/discovery/index.js";
import { useEtcd } from "../support/etcd-fixture.js";
import { type ConnectTestServer, TestService } from "./servers.js";
import { CLIENT_OPTIONS, registeredServer, Traffic, until } from "./support.js";

/**
 * Rolling restarts through the balanced Connect transport with `locality` and `slowStart` on: real Connect
 * servers in a real etcd, each deregistered, stopped gracefully once the view no longer shows it,
 * restarted on its port and registered again, while four callers keep calling. No call may fail.
 */
describe("createBalancedTransport() rolling restarts under locality and slow start", () => {
  const env = useEtcd({ client: CLIENT_OPTIONS });
  const { cleanups } = env;
  let etcd: Etcd;

  beforeAll(() => {
    etcd = env.client();
  });

  /** A server in `zone` registered under `service` (on `port` when given: a restart on the same address). */
  async function instance(service: string, zone: string, port?: number) {
    return { ...(await registeredServer(etcd, cleanups, service, { delayMs: 5, zone, port })), zone };
  }

  it.each<[string, Partial<BalancedTransportOptions>]>([
    ["locality", { locality: { zone: "a" } }],
    ["slowStart", { slowStart: { windowMs: 2000 } }],
    // p2c alone: the rolling restart under each policy (round-robin: balanced-transport.test.ts,
    // p2c-ewma and ring-hash: their own files).
    ["p2c", { policy: "p2c" }],
  ])(
    "under %s with zero failed calls: each deregistered, stopped, restarted, registered",
    async (name, shaping) => {
      const service = `rolling-${name}`;
      const live: { server: ConnectTestServer; registration: Registration; zone: string }[] = [];
      for (const zone of ["a", "a", "b"]) live.push(await instance(service, zone));
      const view = discover(etcd, service);
      cleanups.push(() => view.close());
      await view.ready;
      const transport = createBalancedTransport({
        discovery: view,
        createTransport: (addr) => createGrpcTransport({ baseUrl: `http://${addr}` }),
        ...shaping,
      } as BalancedTransportOptions);
      cleanups.push(() => transport.close());
      const api = createClient(TestService, transport);
      const traffic = new Traffic(() => api.status({}));
      await traffic.flows("traffic");
      for (let i = 0; i < 3; i++) {
        const old = live.shift()!;
        await old.registration.deregister();
        await until("the removal reaching the view", () => !view.entries().has(old.registration.key));
        // The transport takes no new call to it; the ones it picked before end, then a graceful stop
        // (a Connect transport does not resend a stream the server refuses, as grpc-js does).
        await until("no calls in flight", () => (transport.inFlight().get(old.registration.key) ?? 0) === 0);
        await old.server.shutdown();
        const port = Number(old.server.addr.split(":")[1]);
        live.push(await instance(service, old.zone, port));
        await traffic.flows("traffic continues");
      }
      // Under locality zone a's restarted instances take the calls; under slow start every one, ramping.
      await until("the restarted instances answering", () =>
        live.filter((n) => shaping.locality === undefined || n.zone === "a").every((n) => n.server.calls > 0),
      );
      await traffic.stop();
      expect(traffic.failures).toEqual([]);
    },
  );
});
