import * as grpc from "@grpc/grpc-js";
import { beforeAll, describe, expect, it } from "vitest";
import { Etcd } from "../../src/client/index.js";
import { register } from "../../src/discovery/index.js";
import { registerEtcdResolver } from "../../src/grpc-js/index.js";
import { type EtcdCluster, FaultProxy } from "../../src/testing/index.js";
import { useEtcd } from "../support/etcd-fixture.js";
import { GrpcTestServer, grpcStatus } from "./servers.js";
import { CLIENT_OPTIONS, until } from "./support.js";

describe("grpc-js resolver for etcd:///<service>", () => {
  const env = useEtcd({ client: CLIENT_OPTIONS });
  const { cleanups } = env;
  let cluster: EtcdCluster;
  let etcd: Etcd;

  beforeAll(() => {
    cluster = env.cluster;
    etcd = env.client();
    registerEtcdResolver(etcd, { policy: "round_robin" });
    // No policy: the channel's default, grpc-js' pick_first.
    registerEtcdResolver(etcd, { scheme: "etcd-default" });
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

  it("resolves through a namespace view: only the instances registered in that namespace", async () => {
    const view = etcd.namespace("grpc-ns/");
    registerEtcdResolver(view, { scheme: "etcd-ns", policy: "round_robin" });
    const inside = await GrpcTestServer.start();
    const outside = await GrpcTestServer.start();
    const registered = [
      await register(view, { service: "nsvc", addr: inside.addr, ttl: 5 }),
      await register(etcd, { service: "nsvc", addr: outside.addr, ttl: 5 }),
    ];
    cleanups.push(
      () => inside.kill(),
      () => outside.kill(),
      () => Promise.all(registered.map((r) => r.close())),
    );
    const namespaced = new grpc.Client("etcd-ns:///nsvc", grpc.credentials.createInsecure());
    const plain = new grpc.Client("etcd:///nsvc", grpc.credentials.createInsecure());
    cleanups.push(
      () => namespaced.close(),
      () => plain.close(),
    );
    for (let i = 0; i < 5; i++) expect(await grpcStatus(namespaced)).toBe(inside.addr);
    for (let i = 0; i < 5; i++) expect(await grpcStatus(plain)).toBe(outside.addr);
    expect([inside.calls, outside.calls]).toEqual([5, 5]);
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

  it.each([
    ["round_robin", "etcd"],
    ["pick_first (the default)", "etcd-default"],
  ])(
    "%s: once the last instance deregisters, calls fail with UNAVAILABLE and never reach it; a new one serves",
    async (_policy, scheme) => {
      const service = `last-${scheme}`;
      // The old instance is registered behind a proxy, which shows when the channel's connection closes.
      const a = await GrpcTestServer.start();
      const proxy = await FaultProxy.start(a.addr);
      const registration = await register(etcd, { service, addr: `127.0.0.1:${proxy.port}`, ttl: 5 });
      cleanups.push(
        () => a.kill(),
        () => proxy.close(),
        () => registration.close(),
      );
      const channel = new grpc.Client(`${scheme}:///${service}`, grpc.credentials.createInsecure());
      cleanups.push(() => channel.close());
      expect(await grpcStatus(channel)).toBe(a.addr);
      await registration.deregister();
      // The removal reaches the resolver through a watch: calls made before that may still be served.
      let failure: grpc.ServiceError | undefined;
      await until("a call to fail once the last instance is gone", async () => {
        failure = await grpcStatus(channel, 10_000).then(
          () => undefined,
          (err: grpc.ServiceError) => err,
        );
        return failure !== undefined;
      });
      // DEADLINE_EXCEEDED would mean the call waited for its 10 s deadline; UNAVAILABLE came before it.
      expect(failure?.code).toBe(grpc.status.UNAVAILABLE);
      expect(failure?.details).toContain(`no live instance of ${service} in etcd`);
      expect(channel.getChannel().getConnectivityState(false)).not.toBe(grpc.connectivityState.READY);
      const callsBefore = a.calls;
      for (let i = 0; i < 5; i++) {
        await expect(grpcStatus(channel, 10_000)).rejects.toMatchObject({ code: grpc.status.UNAVAILABLE });
      }
      const b = await instance(service);
      await until(
        "a call to reach the new instance",
        async () => (await grpcStatus(channel, 10_000).catch(() => "")) === b.server.addr,
        20_000,
      );
      expect(await grpcStatus(channel, 10_000)).toBe(b.server.addr);
      // The deregistered instance still runs, and got no call after the channel dropped it.
      expect(a.calls).toBe(callsBefore);
      // grpc-js closes the dropped subchannel's connection when its subchannel pool next sweeps.
      await until("the connection to the old instance to close", () => proxy.connections === 0, 30_000);
    },
  );

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
