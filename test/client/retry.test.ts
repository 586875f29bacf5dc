import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { DeadlineExceededError, Etcd, UnavailableError } from "../../src/client/index.js";
import { FaultProxy, freePort } from "../../src/testing/index.js";
import { type SharedCluster, useSharedEtcd } from "../support/etcd-fixture.js";
import { until } from "../support/wait.js";

// Retry rules, both sides, with a fault proxy in front of a real etcd. The direct endpoint is second in
// every list, so a retry shows up as the call succeeding there.
const shared = useSharedEtcd();
let cluster: SharedCluster;
let direct: Etcd;
let proxy: FaultProxy | undefined;
const clients: Etcd[] = [];

beforeAll(async () => {
  cluster = shared.cluster;
  direct = new Etcd({ endpoints: cluster.endpoints });
});

afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.close()));
  await proxy?.close();
  proxy = undefined;
});

afterAll(async () => {
  await direct?.close();
});

/** Calls stay pending while a test waits for an event (its waits take up to 20 s): a longer deadline. */
function client(endpoints: string[]): Etcd {
  const c = new Etcd({ endpoints, timeoutMs: 30_000, retry: { initialBackoffMs: 10, maxBackoffMs: 50 } });
  clients.push(c);
  return c;
}

/** A client whose first endpoint is a proxy that answered one call, then swallows every answer. */
async function clientBehindSilentProxy(): Promise<Etcd> {
  proxy = await FaultProxy.start(cluster.endpoint);
  const c = client([proxy.url, cluster.endpoint]);
  await c.get("warm-up"); // the connection through the proxy is up and pinned
  proxy.blackhole("server-to-client");
  return c;
}

describe("writes", () => {
  it("are retried on the next endpoint when the connection was refused (never sent)", async () => {
    const nobody = `http://127.0.0.1:${await freePort()}`;
    const c = client([nobody, cluster.endpoint]);
    const res = await c.put("retry/refused", "v");
    const kv = await direct.get("retry/refused");
    expect(kv?.text()).toBe("v");
    expect(kv?.version).toBe(1n);
    expect(kv?.modRevision).toBe(res.revision);
  });

  it("are not retried when the connection drops after the request left (applied once)", async () => {
    const c = await clientBehindSilentProxy();
    const put = c.put("retry/sent-then-reset", "v").catch((e) => e);
    // The server applied it; the answer was swallowed. Now the connection breaks.
    await until(
      "the put to be applied",
      async () => (await direct.get("retry/sent-then-reset")) !== undefined,
    );
    proxy!.cut();
    const err = await put;
    expect(err).toBeInstanceOf(UnavailableError);
    expect(err.endpoint).toBe(proxy!.url);
    // A retry would have put it a second time (version 2).
    expect((await direct.get("retry/sent-then-reset"))?.version).toBe(1n);
  });

  it("are not retried after a timeout", async () => {
    const c = await clientBehindSilentProxy();
    const err = await c.put("retry/timeout", "v", { timeoutMs: 1_000 }).catch((e) => e);
    expect(err).toBeInstanceOf(DeadlineExceededError);
    // The request left long before its deadline: etcd applies it, once (a retry would make version 2).
    await until(
      "the timed-out put to be applied",
      async () => (await direct.get("retry/timeout")) !== undefined,
    );
    expect((await direct.get("retry/timeout"))?.version).toBe(1n);
  });
});

describe("reads", () => {
  it("are retried on the next endpoint when the connection drops", async () => {
    await direct.put("retry/read", "value");
    const c = await clientBehindSilentProxy();
    const before = proxy!.bytesFromClients;
    const get = c.get("retry/read");
    await until("the request to reach the proxy", () => proxy!.bytesFromClients > before);
    proxy!.cut();
    expect((await get)?.text()).toBe("value");
    // And the client now stays on the healthy endpoint.
    proxy!.heal();
    expect((await c.get("retry/read"))?.text()).toBe("value");
  });

  it("are retried when the first endpoint refuses connections", async () => {
    await direct.put("retry/read2", "v2");
    const c = client([`http://127.0.0.1:${await freePort()}`, cluster.endpoint]);
    expect((await c.get("retry/read2"))?.text()).toBe("v2");
  });

  it("read-only txns are retried like reads", async () => {
    await direct.put("retry/txn", "t");
    const c = await clientBehindSilentProxy();
    const before = proxy!.bytesFromClients;
    const { op } = await import("../../src/client/index.js");
    const res = c.txn().onSuccess(op.get("retry/txn")).commit();
    await until("the request to reach the proxy", () => proxy!.bytesFromClients > before);
    proxy!.cut();
    const out = await res;
    expect(out.succeeded && out.results[0].kvs[0]!.text()).toBe("t");
  });

  it("give up with a typed error when no endpoint answers", async () => {
    const c = new Etcd({
      endpoints: [`http://127.0.0.1:${await freePort()}`, `http://127.0.0.1:${await freePort()}`],
      retry: { maxAttempts: 3, initialBackoffMs: 5 },
    });
    clients.push(c);
    const err = await c.get("x").catch((e) => e);
    expect(err).toBeInstanceOf(UnavailableError);
  });
});
