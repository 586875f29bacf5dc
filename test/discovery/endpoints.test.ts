import http from "node:http";
import { Code, ConnectError, type ConnectRouter } from "@connectrpc/connect";
import { connectNodeAdapter, createConnectTransport } from "@connectrpc/connect-node";
import { beforeAll, describe, expect, it } from "vitest";
import { InvalidArgumentError } from "../../src/client/core/errors.js";
import type { Etcd } from "../../src/client/etcd.js";
import {
  type BalancedTransportOptions,
  createBalancedTransport,
  discover,
  EXTENSION_FIELD,
  endpointOf,
  register,
  withEndpoint,
} from "../../src/discovery/index.js";
import { freePort } from "../../src/testing/index.js";
import { useEtcd } from "../support/etcd-fixture.js";
import { ConnectTestServer, TestService } from "./servers.js";
import { balancedApi, CLIENT_OPTIONS, until } from "./support.js";

/**
 * A Status server speaking the Connect protocol over HTTP/1.1 (no gRPC, no HTTP/2): the `http` endpoint of
 * an instance whose `addr` is a gRPC server. It answers with `http://<its address>`.
 */
async function startHttpServer() {
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  let calls = 0;
  const routes = (router: ConnectRouter) =>
    router.service(TestService, {
      status() {
        calls++;
        return { version: url };
      },
    });
  const server = http.createServer(connectNodeAdapter({ routes, grpc: false, grpcWeb: false }));
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, "127.0.0.1", () => resolve());
  });
  return {
    url,
    calls: () => calls,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/**
 * Several endpoints per instance (kratos' `endpoints[]`: the gRPC and HTTP addresses of one process),
 * through the public API against a real etcd: `register()` writes them, `discover()` reads them back
 * typed, and the balanced Connect transport sends calls to the endpoint of the `protocol` it was given,
 * skipping instances without one.
 */
describe("several endpoints per instance", () => {
  const env = useEtcd({ client: CLIENT_OPTIONS });
  const { cleanups } = env;
  let etcd: Etcd;

  beforeAll(() => {
    etcd = env.client();
  });

  /** One process: a gRPC server (its `addr`) and, unless `grpcOnly`, an HTTP/1.1 Connect server. */
  async function instance(service: string, grpcOnly = false) {
    const grpc = await ConnectTestServer.start();
    cleanups.push(() => grpc.kill());
    const web = grpcOnly ? undefined : await startHttpServer();
    if (web) cleanups.push(() => web.close());
    const registration = await register(etcd, {
      service,
      addr: grpc.addr,
      ttl: 5,
      metadata: { role: "edge" },
      ...(web ? { endpoints: { http: web.url } } : {}),
    });
    cleanups.push(() => registration.close());
    return { grpc, web, registration };
  }

  function balanced(service: string, extra: Partial<BalancedTransportOptions>) {
    return balancedApi(cleanups, { etcd, service, ...extra });
  }

  async function answers(api: ReturnType<typeof balanced>["api"], n: number): Promise<string[]> {
    const out: string[] = [];
    for (let i = 0; i < n; i++) out.push((await api.status({})).version);
    return out;
  }

  it("register() writes them beside Go's Addr and Metadata; discover() reads them back typed", async () => {
    const { grpc, web, registration } = await instance("ep-layout");
    const kv = await etcd.get(registration.key);
    const value = JSON.parse(kv!.text());
    // Go sees the gRPC address and a hashable Metadata; the HTTP address is in our extension field.
    expect(value.Addr).toBe(grpc.addr);
    expect(typeof value.Metadata).toBe("string");
    expect(value[EXTENSION_FIELD].endpoints).toEqual({ http: web!.url });

    const view = discover(etcd, "ep-layout");
    cleanups.push(() => view.close());
    await view.ready;
    const [seen] = view.instances();
    expect(seen).toMatchObject({
      addr: grpc.addr,
      endpoints: { http: web!.url },
      metadata: { role: "edge" },
    });
    expect(endpointOf(seen!, "grpc")).toBe(grpc.addr);
    expect(endpointOf(seen!, "http")).toBe(web!.url);
    expect(endpointOf(seen!, "ws")).toBeUndefined();
  });

  it('protocol "http" reaches each instance\'s HTTP address and skips instances without one; the default reaches gRPC', async () => {
    const service = "ep-pick";
    const a = await instance(service);
    const b = await instance(service);
    const grpcOnly = await instance(service, true);
    const view = discover(etcd, service, { filter: withEndpoint("http") });
    cleanups.push(() => view.close());
    await view.ready;
    expect(view.instances()).toHaveLength(2);

    // createConnectTransport over HTTP/1.1: the gRPC servers (HTTP/2 only) could not answer it.
    const web = balanced(service, {
      protocol: "http",
      createTransport: (url) => createConnectTransport({ baseUrl: url, httpVersion: "1.1" }),
    });
    const httpAnswers = await answers(web.api, 20);
    expect(new Set(httpAnswers)).toEqual(new Set([a.web!.url, b.web!.url]));
    expect(a.web!.calls() + b.web!.calls()).toBe(20);
    expect([a.grpc.calls, b.grpc.calls, grpcOnly.grpc.calls]).toEqual([0, 0, 0]);

    // The same instances through their gRPC addresses, the one without HTTP included.
    const rpc = balanced(service, {});
    expect(new Set(await answers(rpc.api, 30))).toEqual(
      new Set([a.grpc.addr, b.grpc.addr, grpcOnly.grpc.addr]),
    );
    expect(a.web!.calls() + b.web!.calls()).toBe(20);
  });

  it("an HTTP client with no instance offering HTTP fails UNAVAILABLE, and finds one once it registers", async () => {
    const service = "ep-none";
    await instance(service, true);
    const web = balanced(service, {
      protocol: "http",
      waitForInstanceMs: 300,
      createTransport: (url) => createConnectTransport({ baseUrl: url, httpVersion: "1.1" }),
    });
    const err = await web.api.status({}).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConnectError);
    expect((err as ConnectError).code).toBe(Code.Unavailable);
    expect((err as ConnectError).rawMessage).toMatch(/^no live instance/);

    const later = await instance(service);
    await until("the HTTP instance in the transport's view", async () => {
      const r = await web.api.status({}).catch(() => undefined);
      return r?.version === later.web!.url;
    });
  });

  it("bad endpoints and protocols are InvalidArgumentErrors naming the field, before anything is sent", async () => {
    const bad: [unknown, string][] = [
      [null, "endpoints"],
      [["http://x"], "endpoints"],
      [{ grpc: "127.0.0.1:1" }, "endpoints.grpc"],
      [{ Http: "http://x" }, 'endpoints["Http"]'],
      [{ http: "" }, "endpoints.http"],
      [{ http: 80 }, "endpoints.http"],
    ];
    for (const [endpoints, field] of bad) {
      const err = await register(etcd, { service: "ep-bad", addr: "127.0.0.1:1", endpoints } as never).catch(
        (e: unknown) => e,
      );
      expect(err, JSON.stringify(endpoints)).toBeInstanceOf(InvalidArgumentError);
      expect((err as InvalidArgumentError).field).toBe(field);
    }
    expect(await etcd.range({ prefix: "ep-bad/" })).toMatchObject({ kvs: [] });

    for (const protocol of ["HTTP", "", 1, null, {}]) {
      let thrown: unknown;
      try {
        createBalancedTransport({
          etcd,
          service: "ep-bad",
          protocol: protocol as never,
          createTransport: () => {
            throw new Error("never called");
          },
        });
      } catch (e) {
        thrown = e;
      }
      expect(thrown, String(protocol)).toBeInstanceOf(InvalidArgumentError);
      expect((thrown as InvalidArgumentError).field).toBe("protocol");
    }
    expect(() => withEndpoint(7 as never)).toThrow(InvalidArgumentError);
  });
});
