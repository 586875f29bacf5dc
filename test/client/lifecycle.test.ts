import { createHook } from "node:async_hooks";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  AbortedError,
  ClientClosedError,
  Code,
  DeadlineExceededError,
  Etcd,
  InvalidArgumentError,
  LeasesClosedError,
  WatchHubClosedError,
} from "../../src/client/index.js";
import { type EtcdCluster, FaultProxy, startEtcd } from "../../src/testing/index.js";
import { until, within } from "../support/wait.js";

let cluster: EtcdCluster;

beforeAll(async () => {
  cluster = await startEtcd();
});

afterAll(async () => {
  await cluster?.close();
});

async function silentProxy(): Promise<FaultProxy> {
  const proxy = await FaultProxy.start(cluster.endpoint);
  proxy.blackhole("server-to-client");
  return proxy;
}

describe("lifecycle", () => {
  it("after close(): watches, leases and calls fail with the ClientClosedError subclasses the docs list", async () => {
    const etcd = new Etcd({ endpoints: cluster.endpoints });
    await etcd.put("life/closed", "v");
    await etcd.close();
    let watchError: unknown;
    try {
      etcd.watch("life/closed");
    } catch (err) {
      watchError = err;
    }
    expect(watchError).toBeInstanceOf(WatchHubClosedError);
    await expect(etcd.lease.grant(5)).rejects.toBeInstanceOf(LeasesClosedError);
    await expect(etcd.lease.keepAlive(5n)).rejects.toBeInstanceOf(LeasesClosedError);
    await expect(etcd.get("life/closed")).rejects.toBeInstanceOf(ClientClosedError);
    for (const e of [watchError, await etcd.lease.grant(5).catch((err: unknown) => err)]) {
      expect(e).toBeInstanceOf(ClientClosedError);
      expect((e as ClientClosedError).code).toBe(Code.Canceled);
    }
  });

  it("close() releases every socket and timer", async () => {
    // Every socket and timer created while the client runs, with where it was made, until destroyed.
    const live = new Map<number, string>();
    const hook = createHook({
      init(id, type) {
        if (type === "Timeout" || type === "TCPWRAP" || type === "TCPCONNECTWRAP") {
          // Named after the first frame outside Node itself: the code that made it.
          const maker =
            new Error().stack
              ?.split("\n")
              .slice(2)
              .find((f) => !f.includes("node:")) ?? "?";
          live.set(id, `${type} ${maker.trim()}`);
        }
      },
      destroy(id) {
        live.delete(id);
      },
    });
    const proxy = await FaultProxy.start(cluster.endpoint);
    const refdBefore = process.getActiveResourcesInfo().length;
    hook.enable();
    try {
      const etcd = new Etcd({ endpoints: [proxy.url], autoSyncIntervalMs: 10_000, keepaliveIntervalMs: 100 });
      await etcd.put("life/k", "v");
      await etcd.get("life/k");
      expect(proxy.connections).toBe(1);
      expect([...live.values()].some((v) => v.startsWith("TCPWRAP"))).toBe(true);
      expect([...live.values()].some((v) => v.includes("src/client/etcd.ts"))).toBe(true); // the sync timer
      await etcd.close();
      // Sockets close and their destroy hooks run a moment after close() returns: wait for that (the
      // test's own timers, and the polling ones, are not the client's).
      const left = () =>
        [...live.values()].filter((v) => !v.includes("lifecycle.test.ts") && !v.includes("support/wait.ts"));
      await until(
        "the client's sockets and timers to be released after close()",
        () =>
          proxy.connections === 0 &&
          left().length === 0 &&
          process.getActiveResourcesInfo().length <= refdBefore,
      ).catch(() => {}); // the expectations below say what is left
      hook.disable();
      // The server side sees the connection gone; nothing of the client keeps the process alive.
      expect(proxy.connections).toBe(0);
      expect(process.getActiveResourcesInfo().length).toBeLessThanOrEqual(refdBefore);
      expect(left()).toEqual([]);
    } finally {
      hook.disable();
      await proxy.close();
    }
  });

  it("supports await using, and refuses calls once closed", async () => {
    let kept: Etcd | undefined;
    {
      await using etcd = new Etcd({ endpoints: cluster.endpoints });
      kept = etcd;
      await etcd.get("life/k");
    }
    await expect(kept.get("life/k")).rejects.toBeInstanceOf(ClientClosedError);
    await kept.close(); // twice is fine
  });

  it("fails calls in flight with ClientClosedError when closed", async () => {
    const proxy = await silentProxy();
    const etcd = new Etcd({ endpoints: [proxy.url] });
    try {
      const pending = etcd.get("life/k").catch((e) => e);
      await until("the get to reach the proxy", () => proxy.bytesFromClients > 0);
      await etcd.close();
      expect(await pending).toBeInstanceOf(ClientClosedError);
    } finally {
      await proxy.close();
    }
  });

  it("aborts calls through their signal", async () => {
    const proxy = await silentProxy();
    const etcd = new Etcd({ endpoints: [proxy.url] });
    try {
      await expect(etcd.get("x", { signal: AbortSignal.abort() })).rejects.toBeInstanceOf(AbortedError);
      const ac = new AbortController();
      const before = proxy.bytesFromClients;
      const pending = etcd.put("life/abort", "v", { signal: ac.signal }).catch((e) => e);
      await until("the put to reach the proxy", () => proxy.bytesFromClients > before);
      ac.abort();
      // Nothing else would end it with AbortedError: unanswered, it would run into its 10 s deadline.
      expect(await within(pending, "the aborted put to end")).toBeInstanceOf(AbortedError);
    } finally {
      await etcd.close();
      await proxy.close();
    }
  });

  it("enforces the client's default timeout and a per-call one", async () => {
    const proxy = await silentProxy();
    const etcd = new Etcd({ endpoints: [proxy.url], timeoutMs: 1_000 });
    try {
      // Both unanswered; which deadline applies shows in the order they end (deadlines fire in time
      // order, however late the timer): the per-call 100 ms one, started second, ends first.
      const ended: string[] = [];
      const settle = (name: string) => (e: unknown) => {
        ended.push(name);
        return e;
      };
      const byDefault = etcd.get("x").catch(settle("default"));
      const perCall = etcd.get("x", { timeoutMs: 100 }).catch(settle("per-call"));
      const errors = await within(Promise.all([byDefault, perCall]), "both gets to time out");
      for (const e of errors) expect(e).toBeInstanceOf(DeadlineExceededError);
      expect(ended).toEqual(["per-call", "default"]);
    } finally {
      await etcd.close();
      await proxy.close();
    }
  });

  it("learns endpoints from MemberList (auto-sync)", async () => {
    const proxy = await FaultProxy.start(cluster.endpoint);
    const etcd = new Etcd({ endpoints: [proxy.url], autoSyncIntervalMs: 100 });
    try {
      expect(etcd.endpoints).toEqual([proxy.url]);
      await etcd.get("x");
      await until(
        "auto-sync to replace the proxy by the member's own URL",
        () => etcd.endpoints[0] === cluster.endpoint,
      );
      expect(etcd.endpoints).toEqual([cluster.endpoint]);
      // And calls now go there even with the proxy gone.
      await proxy.close();
      await etcd.put("life/synced", "yes");
      expect((await etcd.get("life/synced"))?.text()).toBe("yes");
    } finally {
      await etcd.close();
      await proxy.close();
    }
  });

  it("validates client options, naming the field", () => {
    const field = (f: () => unknown) => {
      try {
        f();
      } catch (e) {
        expect(e).toBeInstanceOf(InvalidArgumentError);
        return (e as InvalidArgumentError).field;
      }
      throw new Error("did not throw");
    };
    expect(field(() => new Etcd({ endpoints: [] }))).toBe("endpoints");
    expect(field(() => new Etcd({ endpoints: "localhost:2379" }))).toBe("endpoints");
    expect(field(() => new Etcd({ endpoints: cluster.endpoints, timeoutMs: 0 }))).toBe("timeoutMs");
    expect(
      field(() => new Etcd({ endpoints: cluster.endpoints, auth: { username: "", password: "x" } })),
    ).toBe("auth.username");
  });
});
