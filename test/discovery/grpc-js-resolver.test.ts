import * as grpc from "@grpc/grpc-js";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { Etcd } from "../../src/client/etcd.js";
import { register } from "../../src/discovery/index.js";
import { registerEtcdResolver } from "../../src/grpc-js/index.js";
import { type EtcdCluster, FaultProxy, startEtcd } from "../../src/testing/index.js";
import { GrpcTestServer, grpcStatus } from "./servers.js";
import { client, until } from "./support.js";

describe("grpc-js resolver for etcd:///<service>", () => {
  let cluster: EtcdCluster;
  let etcd: Etcd;
  const cleanups: (() => Promise<unknown> | unknown)[] = [];

  beforeAll(async () => {
    cluster = await startEtcd();
    etcd = client(cluster.endpoint);
    registerEtcdResolver(etcd, { policy: "round_robin" });
  });
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c();
  });
  afterAll(async () => {
    await etcd?.close();
    await cluster?.close();
  });

  async function instance(service: string) {
    const server = await GrpcTestServer.start();
    const registration = await register(etcd, { service, addr: server.addr, ttl: 5 });
    cleanups.push(
      () => server.kill(),
      () => registration.close(),
    );
    return { server, registration };
  }

  it("round-robins over registered instances and follows additions, drains and removals", async () => {
    const a = await instance("gsvc");
    const b = await instance("gsvc");
    const channel = new grpc.Client("etcd:///gsvc", grpc.credentials.createInsecure());
    cleanups.push(() => channel.close());
    const seen = new Set<string>();
    for (let i = 0; i < 10; i++) seen.add(await grpcStatus(channel));
    expect(seen).toEqual(new Set([a.server.addr, b.server.addr]));

    const c = await instance("gsvc");
    await until("c called", async () => (await grpcStatus(channel)) === c.server.addr);

    await a.registration.deregister();
    await b.registration.drain();
    // Both leave grpc-js' address list (deregistered: key gone; drained: filtered out).
    await new Promise((r) => setTimeout(r, 300));
    const [aBefore, bBefore] = [a.server.calls, b.server.calls];
    for (let i = 0; i < 10; i++) expect(await grpcStatus(channel)).toBe(c.server.addr);
    expect([a.server.calls, b.server.calls]).toEqual([aBefore, bBefore]);
  });

  it("fails calls fast with UNAVAILABLE when the service has no instance, and recovers when one registers", async () => {
    const channel = new grpc.Client("etcd:///empty-svc", grpc.credentials.createInsecure());
    cleanups.push(() => channel.close());
    await expect(grpcStatus(channel)).rejects.toMatchObject({ code: grpc.status.UNAVAILABLE });
    const d = await instance("empty-svc");
    await until(
      "call succeeds",
      async () => (await grpcStatus(channel).catch(() => "")) === d.server.addr,
      20_000,
    );
  });

  it("fails calls fast with UNAVAILABLE while etcd is unreachable, and recovers once it is back", async () => {
    await using proxy = await FaultProxy.start(cluster.endpoint);
    proxy.refuse(true);
    const cutOff = new Etcd({ endpoints: proxy.url, timeoutMs: 500 });
    cleanups.push(() => cutOff.close());
    // Resolvers are registered process-wide by scheme: this one reads etcd through the proxy.
    registerEtcdResolver(cutOff, { scheme: "etcd-cut", policy: "round_robin" });
    const channel = new grpc.Client("etcd-cut:///cut-svc", grpc.credentials.createInsecure());
    cleanups.push(() => channel.close());
    // Waiting for the 5 s deadline would give DEADLINE_EXCEEDED; the resolver's report fails it sooner.
    const failure = await grpcStatus(channel).then(
      () => undefined,
      (err: grpc.ServiceError) => err,
    );
    expect(failure?.code).toBe(grpc.status.UNAVAILABLE);
    expect(failure?.details).toContain("cannot read the instances of cut-svc from etcd");
    const d = await instance("cut-svc");
    proxy.refuse(false);
    await until(
      "call succeeds",
      async () => (await grpcStatus(channel).catch(() => "")) === d.server.addr,
      20_000,
    );
  });
});
