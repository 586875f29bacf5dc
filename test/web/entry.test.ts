import { subscribe, unsubscribe } from "node:diagnostics_channel";
import { once } from "node:events";
import { describe, expect, it, vi } from "vitest";
import { Etcd as NodeEtcd } from "../../src/client/index.js";
import {
  compare,
  diagnosticsChannels,
  discover,
  Etcd,
  InvalidArgumentError,
  NotSupportedError,
  op,
  register,
  type WatchEvent,
} from "../../src/web/index.js";
import { useEtcd } from "../support/etcd-fixture.js";
import { within } from "../support/wait.js";

/**
 * `etcd-ts/web` in Node (docs/web.md, "Using etcd-ts/web"): the entry's own `Etcd`, whose default
 * transport is the JSON gateway over `fetch`, against a real etcd. Every request is seen going out as a
 * `fetch` to the gateway's path, so none of this can pass over the HTTP/2 transport.
 */
const fixture = useEtcd();
const { cleanups } = fixture;

/** The global `fetch`, which the spy below hands every request on to. */
const realFetch = globalThis.fetch.bind(globalThis);

/**
 * The gateway paths the client fetches from now on, in order: a spy on the global `fetch`, which the
 * transport of a client made after this call uses.
 */
function fetchedPaths(): string[] {
  const paths: string[] = [];
  const spy = vi.spyOn(globalThis, "fetch").mockImplementation((input, init) => {
    paths.push(new URL(input instanceof Request ? input.url : String(input)).pathname);
    return realFetch(input, init);
  });
  cleanups.push(() => spy.mockRestore());
  return paths;
}

function webClient(): Etcd {
  const etcd = new Etcd({ endpoints: fixture.cluster.endpoints });
  cleanups.push(() => etcd.close());
  return etcd;
}

describe("etcd-ts/web's Etcd in Node, over the gateway", () => {
  it("puts, gets, deletes and runs a txn, each as a fetch to the gateway's path", async () => {
    const paths = fetchedPaths();
    const etcd = webClient();
    const put = await etcd.put("web/a", "1");
    expect(put.revision).toBeGreaterThan(0n);
    expect((await etcd.get("web/a"))?.text()).toBe("1");
    const result = await etcd
      .txn()
      .if(compare.value("web/a", "=", "1"))
      .onSuccess(op.put("web/b", "2"))
      .onFailure(op.put("web/b", "x"))
      .commit();
    expect(result.succeeded).toBe(true);
    expect((await etcd.range({ prefix: "web/" })).kvs.map((kv) => kv.text())).toEqual(["1", "2"]);
    expect((await etcd.delete({ prefix: "web/" })).deleted).toBe(2n);
    expect(paths).toEqual(["/v3/kv/put", "/v3/kv/range", "/v3/kv/txn", "/v3/kv/range", "/v3/kv/deleterange"]);
  });

  it("watches: a put made by a gRPC client arrives in order, the events of a later put too", async () => {
    const etcd = webClient();
    const grpc = new NodeEtcd({ endpoints: fixture.cluster.endpoints });
    cleanups.push(() => grpc.close());
    const watcher = etcd.watch({ prefix: "watched/" });
    cleanups.push(() => watcher.close());
    await within(watcher.created, "the watch created over the gateway");
    const first = await grpc.put("watched/x", "1");
    const second = await grpc.put("watched/y", "2");
    const seen: WatchEvent[] = [];
    for await (const batch of watcher) {
      seen.push(...batch.events);
      if (seen.length >= 2) break;
    }
    expect(seen.map((e) => [e.type, e.kv.text(), e.kv.modRevision])).toEqual([
      ["put", "1", first.revision],
      ["put", "2", second.revision],
    ]);
  });

  it("keeps a lease alive by refreshes (a request each), and revokes it", async () => {
    const paths = fetchedPaths();
    const etcd = webClient();
    const lease = await etcd.lease.grant(2);
    await etcd.put("leased", "v", { lease: lease.id });
    // Refreshes come every third of the TTL: after four, the lease has outlived its first 2 s.
    let refreshes = 0;
    while (refreshes < 4) {
      await within(once(lease, "keepalive"), "a keepalive refresh");
      refreshes++;
    }
    expect((await etcd.lease.timeToLive(lease.id)).ttl).toBeGreaterThan(0);
    await lease.revoke();
    expect(await etcd.get("leased")).toBeUndefined();
    expect(paths).toContain("/v3/lease/keepalive");
    expect(paths).toContain("/v3/lease/revoke");
  });

  it("namespaces, caches, registers and discovers, as on etcd-ts", async () => {
    const etcd = webClient();
    const app = etcd.namespace("app/");
    expect(app).toBeInstanceOf(Etcd);
    await app.put("k", "v");
    expect((await etcd.get("app/k"))?.text()).toBe("v");

    const cache = etcd.cache({ prefix: "app/" });
    cleanups.push(() => cache.close());
    await within(cache.ready, "the cache loaded");
    expect(cache.get("app/k")?.text()).toBe("v");

    const registration = await register(etcd, { service: "web-tab", addr: "127.0.0.1:1", ttl: 5 });
    cleanups.push(() => registration.close());
    const view = discover(etcd, "web-tab");
    cleanups.push(() => view.close());
    await within(view.ready, "the discovery loaded");
    expect(view.instances().map((i) => i.addr)).toEqual(["127.0.0.1:1"]);
  });

  it("publishes its diagnostics on the runtime's diagnostics_channel (Node has process.getBuiltinModule)", async () => {
    const etcd = webClient();
    const seen: string[] = [];
    const listener = (message: unknown) => seen.push((message as { method: string }).method);
    subscribe(diagnosticsChannels.callStart, listener);
    cleanups.push(() => unsubscribe(diagnosticsChannels.callStart, listener));
    await etcd.put("observed", "v");
    expect(seen).toEqual(["etcdserverpb.KV/Put"]);
  });

  it("has no snapshotToFile (no file system): NotSupportedError, before anything is sent", async () => {
    const paths = fetchedPaths();
    const etcd = webClient();
    const error = await etcd.maintenance.snapshotToFile("snapshot.db").catch((e: unknown) => e);
    expect(error).toBeInstanceOf(NotSupportedError);
    expect((error as Error).message).toContain("iterate maintenance.snapshot() instead");
    expect(paths).toEqual([]);
  });

  for (const [builtin, module] of [
    ["h2-net", "node:net"],
    ["http2", "node:http2"],
  ] as const)
    it(`refuses transport: "${builtin}", a transport on ${module}, with InvalidArgumentError naming transport`, async () => {
      const etcd = new Etcd({ endpoints: fixture.cluster.endpoints, transport: builtin });
      cleanups.push(() => etcd.close());
      const error = await etcd.get("k").catch((e: unknown) => e);
      expect(error).toBeInstanceOf(InvalidArgumentError);
      expect((error as InvalidArgumentError).message).toContain("transport");
      expect((error as InvalidArgumentError).message).toContain(module);
      expect((error as InvalidArgumentError).message).toContain("etcd-ts/web");
    });

  it("refuses TLS material it cannot use: fetch does TLS with the runtime's own settings", async () => {
    const etcd = new Etcd({ endpoints: "https://127.0.0.1:1", tls: { ca: "not used" } });
    cleanups.push(() => etcd.close());
    const error = await etcd.get("k").catch((e: unknown) => e);
    expect(error).toBeInstanceOf(InvalidArgumentError);
    expect((error as InvalidArgumentError).message).toContain("etcd-ts/web");
  });
});
