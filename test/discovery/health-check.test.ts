import http2 from "node:http2";
import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import { Code, ConnectError, type ConnectRouter, createClient } from "@connectrpc/connect";
import { connectNodeAdapter, createGrpcTransport } from "@connectrpc/connect-node";
import * as grpc from "@grpc/grpc-js";
import { beforeAll, describe, expect, it } from "vitest";
import type { Etcd } from "../../src/client/etcd.js";
import { InvalidArgumentError } from "../../src/client/index.js";
import { createConnectNodeTransport } from "../../src/connect-node/index.js";
import {
  type BalancedTransportOptions,
  createBalancedTransport,
  HealthStatus,
  register,
} from "../../src/discovery/index.js";
import { StatusRequestSchema, StatusResponseSchema } from "../../src/gen/etcdserverpb/rpc_pb.js";
import {
  Health,
  HealthCheckResponse_ServingStatus as Status,
} from "../../src/gen/grpc/health/v1/health_pb.js";
import { freePort } from "../../src/testing/index.js";
import { useEtcd } from "../support/etcd-fixture.js";
import { within } from "../support/wait.js";
import { TestService } from "./servers.js";
import { balancedApi, CLIENT_OPTIONS, until } from "./support.js";

/**
 * Active health checks (grpc.health.v1) of the balanced transport against real servers registered in a
 * real etcd: connect-node servers that answer `Status` with their address and serve (or not) the health
 * service from a `HealthStatus`, and a grpc-js one. Every wait is for an event (a status seen, a stream
 * opened or closed); the deadlines only catch hangs.
 */
describe("createBalancedTransport() active health checks", () => {
  const env = useEtcd({ client: CLIENT_OPTIONS });
  const { cleanups } = env;
  let etcd: Etcd;

  beforeAll(() => {
    etcd = env.client();
  });

  /** A connect-node server: Status answers its address; `health` (when given) is served too. */
  async function server(health: HealthStatus | undefined) {
    const port = await freePort();
    const addr = `127.0.0.1:${port}`;
    const self = {
      addr,
      calls: 0,
      healthCalls: { Check: 0, Watch: 0 },
      openWatches: 0,
      /** Closes the server and every connection to it (idempotent). */
      close: () => Promise.resolve(),
    };
    const routes = (router: ConnectRouter) => {
      router.service(TestService, {
        status() {
          self.calls++;
          return { version: addr };
        },
      });
      health?.connectRoutes(router);
    };
    const srv = http2.createServer(connectNodeAdapter({ routes }));
    srv.on("stream", (stream, headers) => {
      const method = String(headers[":path"]).match(/^\/grpc\.health\.v1\.Health\/(Check|Watch)$/)?.[1];
      if (method !== "Check" && method !== "Watch") return;
      self.healthCalls[method]++;
      if (method === "Watch") {
        self.openWatches++;
        stream.once("close", () => self.openWatches--);
      }
    });
    const sessions = new Set<http2.ServerHttp2Session>();
    srv.on("session", (s) => {
      sessions.add(s);
      s.once("close", () => sessions.delete(s));
    });
    await new Promise<void>((resolve, reject) => {
      srv.once("error", reject);
      srv.listen(port, "127.0.0.1", () => resolve());
    });
    self.close = () => {
      for (const s of sessions) s.destroy();
      return new Promise<void>((resolve) => srv.close(() => resolve()));
    };
    cleanups.push(() => self.close());
    return self;
  }

  /** A server registered under `service` (ttl long enough to outlive the test). */
  async function instance(service: string, health: HealthStatus | null = new HealthStatus()) {
    const srv = await server(health ?? undefined);
    const registration = await register(etcd, {
      service,
      addr: srv.addr,
      ttl: 30,
      health: health ?? undefined,
    });
    cleanups.push(() => registration.close());
    return { server: srv, registration, health: health ?? new HealthStatus() };
  }

  function balanced(service: string, extra: Partial<BalancedTransportOptions>) {
    return balancedApi(cleanups, {
      etcd,
      service,
      createTransport: (addr) => createConnectNodeTransport({ baseUrl: `http://${addr}` }),
      ...extra,
    });
  }

  /** Makes `n` calls and returns the answering addresses (every call must succeed). */
  async function answers(api: ReturnType<typeof balanced>["api"], n: number): Promise<string[]> {
    const out: string[] = [];
    for (let i = 0; i < n; i++) out.push((await api.status({})).version);
    return out;
  }

  for (const mode of ["watch", "check"] as const) {
    it(`${mode}: a NOT_SERVING instance gets no calls while another takes all; it comes back when SERVING`, async () => {
      const service = `flip-${mode}`;
      const a = await instance(service);
      const b = await instance(service);
      const { api, transport } = balanced(service, {
        healthCheck: { mode, intervalMs: 100, timeoutMs: 5000 },
      });
      expect(new Set(await answers(api, 4))).toEqual(new Set([a.server.addr, b.server.addr]));
      // The checks run in the mode asked for (Watch streams are open on both, or Checks arrive).
      await until(`${mode} health calls on both instances`, () =>
        [a, b].every((x) => (mode === "watch" ? x.server.openWatches === 1 : x.server.healthCalls.Check > 0)),
      );

      a.health.set("", "NOT_SERVING");
      await until("a seen NOT_SERVING", () => transport.unhealthy().includes(a.registration.key));
      expect(transport.unhealthy()).toEqual([a.registration.key]);
      const before = a.server.calls;
      const during = await answers(api, 20);
      expect(during.every((addr) => addr === b.server.addr)).toBe(true);
      expect(a.server.calls).toBe(before);
      // Its lease lives: it is still in etcd, only health keeps it out.
      expect((await etcd.get(a.registration.key))?.lease).toBe(a.registration.leaseId);

      a.health.set("", "SERVING");
      await until("a seen SERVING", () => transport.unhealthy().length === 0);
      expect(new Set(await answers(api, 10))).toEqual(new Set([a.server.addr, b.server.addr]));
      if (mode === "check") expect(a.server.healthCalls.Watch).toBe(0);
    });
  }

  it("asks about the service name given, not the server as a whole", async () => {
    const service = "named";
    const health = new HealthStatus({ "": "SERVING", "etcdserverpb.Maintenance": "SERVING" });
    const a = await instance(service, health);
    const b = await instance(service);
    b.health.set("etcdserverpb.Maintenance", "SERVING");
    const { api, transport } = balanced(service, {
      healthCheck: { service: "etcdserverpb.Maintenance", mode: "check", intervalMs: 100, timeoutMs: 5000 },
    });
    await until("both checked", () => a.server.healthCalls.Check > 0 && b.server.healthCalls.Check > 0);
    health.set("etcdserverpb.Maintenance", "NOT_SERVING");
    await until("a seen NOT_SERVING", () => transport.unhealthy().includes(a.registration.key));
    expect(health.get("")).toBe("SERVING");
    expect((await answers(api, 10)).every((addr) => addr === b.server.addr)).toBe(true);
    // An unknown service name is NOT_FOUND to Check: not serving.
    const unknown = balanced(service, {
      healthCheck: { service: "nope", mode: "check", intervalMs: 100, timeoutMs: 5000 },
    });
    await until("both unknown to the service named", () => unknown.transport.unhealthy().length === 2);
  });

  it("drain() turns the health NOT_SERVING before the drain is written; deregistration ends the checks", async () => {
    const service = "drain";
    const a = await instance(service);
    const b = await instance(service);
    // (The pool skips draining instances too: unhealthy() is what shows the health check saw it.)
    const { api, transport } = balanced(service, { healthCheck: { intervalMs: 100, timeoutMs: 5000 } });
    await until("Watch streams open", () => a.server.openWatches === 1 && b.server.openWatches === 1);
    const draining = a.registration.drain();
    // Synchronously, before etcd is written to.
    expect(a.health.get("")).toBe("NOT_SERVING");
    expect(a.health.isShutDown).toBe(true);
    await draining;
    await until("a seen NOT_SERVING", () => transport.unhealthy().includes(a.registration.key));
    expect((await answers(api, 10)).every((addr) => addr === b.server.addr)).toBe(true);
    // A set() after drain is ignored (the server is going away).
    a.health.set("", "SERVING");
    expect(a.health.get("")).toBe("NOT_SERVING");

    await a.registration.deregister();
    await until("a's Watch stream closed once it left the view", () => a.server.openWatches === 0);
    expect(transport.unhealthy()).toEqual([]);
    // b's checks end with the transport: no stream is left open.
    await transport.close();
    await until("b's Watch stream closed by close()", () => b.server.openWatches === 0);
  });

  it("deregister() without drain() turns the health NOT_SERVING and ends open Watch streams", async () => {
    const a = await instance("dereg");
    // A health client that does not follow etcd (as a grpc-go client with health checking would): its
    // Watch would keep a graceful server stop waiting if deregistration did not end it.
    const client = createClient(Health, createGrpcTransport({ baseUrl: `http://${a.server.addr}` }));
    const seen: number[] = [];
    const watching = (async () => {
      for await (const res of client.watch({ service: "" })) seen.push(res.status);
    })();
    await until("the Watch open", () => seen.length === 1);
    expect(a.health.get("")).toBe("SERVING");
    await a.registration.deregister();
    expect(a.health.get("")).toBe("NOT_SERVING");
    await within(watching, "the Watch to end after deregister()");
    expect(seen).toEqual([Status.SERVING, Status.NOT_SERVING]);
    await until("no Watch stream left on the server", () => a.server.openWatches === 0);
  });

  it("a server without the health service (UNIMPLEMENTED): used by default, left out with unimplemented: 'not-serving'", async () => {
    const service = "unimplemented";
    const a = await instance(service, null);
    const b = await instance(service);
    const used = balanced(service, { healthCheck: { intervalMs: 100, timeoutMs: 5000 } });
    const strict = balanced(service, {
      healthCheck: { intervalMs: 100, timeoutMs: 5000, unimplemented: "not-serving" },
    });
    // Watch answered UNIMPLEMENTED, then Check too: the fallback happened.
    await until("Checks after the Watch fallback", () => a.server.healthCalls.Check >= 2);
    expect(a.server.healthCalls.Watch).toBeGreaterThanOrEqual(1);
    await until("strict: a left out", () => strict.transport.unhealthy().includes(a.registration.key));
    expect(strict.transport.unhealthy()).toEqual([a.registration.key]);
    expect((await answers(strict.api, 10)).every((addr) => addr === b.server.addr)).toBe(true);
    expect(used.transport.unhealthy()).toEqual([]);
    expect(new Set(await answers(used.api, 10))).toEqual(new Set([a.server.addr, b.server.addr]));
  });

  it("an instance whose health checks fail (server gone, lease alive) is left out after unhealthyThreshold", async () => {
    const service = "gone";
    const a = await instance(service);
    const b = await instance(service);
    const { api, transport } = balanced(service, {
      healthCheck: { mode: "check", intervalMs: 100, timeoutMs: 5000, unhealthyThreshold: 2 },
      outlierDetection: false,
    });
    await until("both checked", () => a.server.healthCalls.Check > 0 && b.server.healthCalls.Check > 0);
    // Close a's server: its registration stays (what a crashed process leaves until its TTL).
    await a.server.close();
    await until("a left out by failed checks", () => transport.unhealthy().includes(a.registration.key));
    expect((await answers(api, 10)).every((addr) => addr === b.server.addr)).toBe(true);
  });

  it("a grpc-js server serves the health service from a HealthStatus (addToGrpcServer)", async () => {
    const service = "grpcjs";
    const health = new HealthStatus();
    const port = await freePort();
    const addr = `127.0.0.1:${port}`;
    const srv = new grpc.Server();
    let calls = 0;
    srv.addService(
      {
        status: {
          path: "/etcdserverpb.Maintenance/Status",
          requestStream: false,
          responseStream: false,
          requestSerialize: (m: unknown) => Buffer.from(toBinary(StatusRequestSchema, m as never)),
          requestDeserialize: (b: Buffer) => fromBinary(StatusRequestSchema, b),
          responseSerialize: (m: unknown) => Buffer.from(toBinary(StatusResponseSchema, m as never)),
          responseDeserialize: (b: Buffer) => fromBinary(StatusResponseSchema, b),
        },
      },
      {
        status: (_call: unknown, callback: grpc.sendUnaryData<unknown>) => {
          calls++;
          callback(null, create(StatusResponseSchema, { version: addr }));
        },
      },
    );
    health.addToGrpcServer(srv);
    await new Promise<void>((resolve, reject) =>
      srv.bindAsync(addr, grpc.ServerCredentials.createInsecure(), (err) => (err ? reject(err) : resolve())),
    );
    cleanups.push(() => srv.forceShutdown());
    const a = await register(etcd, { service, addr, ttl: 30, health });
    cleanups.push(() => a.close());
    const b = await instance(service);
    for (const mode of ["watch", "check"] as const) {
      const { api, transport } = balanced(service, {
        healthCheck: { mode, intervalMs: 100, timeoutMs: 5000 },
        createTransport: (to) => createGrpcTransport({ baseUrl: `http://${to}` }),
      });
      expect(new Set(await answers(api, 4))).toEqual(new Set([addr, b.server.addr]));
      health.set("", "NOT_SERVING");
      await until(`${mode}: grpc-js instance seen NOT_SERVING`, () => transport.unhealthy().includes(a.key));
      const before = calls;
      expect((await answers(api, 10)).every((to) => to === b.server.addr)).toBe(true);
      expect(calls).toBe(before);
      health.set("", "SERVING");
      await until(`${mode}: grpc-js instance seen SERVING`, () => transport.unhealthy().length === 0);
      await transport.close();
    }
  });

  it("rejects bad health options before anything starts", () => {
    const bad: unknown[] = [
      null,
      "yes",
      { intervalMs: 0 },
      { timeoutMs: "1s" },
      { unhealthyThreshold: 1.5 },
      { healthyThreshold: 0 },
      { mode: "poll" },
      { service: 7 },
      { unimplemented: true },
    ];
    for (const healthCheck of bad) {
      expect(() =>
        createBalancedTransport({
          etcd,
          service: "bad",
          createTransport: () => {
            throw new Error("never");
          },
          healthCheck: healthCheck as never,
        }),
      ).toThrow(InvalidArgumentError);
    }
    expect(() => new HealthStatus(null as never)).toThrow(InvalidArgumentError);
    expect(() => new HealthStatus({ "": "UP" as never })).toThrow(InvalidArgumentError);
    expect(() => new HealthStatus().set(1 as never, "SERVING")).toThrow(InvalidArgumentError);
    return expect(
      register(etcd, { service: "bad", addr: "127.0.0.1:1", health: {} as never }),
    ).rejects.toThrow(InvalidArgumentError);
  });

  it("Check against a HealthStatus served by Connect: NOT_FOUND for an unknown service; List lists", async () => {
    const health = new HealthStatus({ "": "SERVING", greeter: "NOT_SERVING" });
    const srv = await server(health);
    const client = createClient(Health, createGrpcTransport({ baseUrl: `http://${srv.addr}` }));
    expect((await client.check({ service: "greeter" })).status).toBe(Status.NOT_SERVING);
    const err = await client.check({ service: "nope" }).catch((e) => ConnectError.from(e));
    expect(err).toBeInstanceOf(ConnectError);
    expect((err as ConnectError).code).toBe(Code.NotFound);
    const list = await client.list({});
    expect(Object.fromEntries(Object.entries(list.statuses).map(([k, v]) => [k, v.status]))).toEqual({
      "": Status.SERVING,
      greeter: Status.NOT_SERVING,
    });
  });
});
