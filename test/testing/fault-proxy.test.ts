import { request } from "node:http";
import { connect } from "node:net";
import { Code } from "@connectrpc/connect";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { InvalidArgumentError } from "../../src/client/index.js";
import {
  type EtcdCluster,
  EtcdGatewayError,
  FaultProxy,
  fetchMemberStatus,
  startEtcd,
} from "../../src/testing/index.js";
import { eventually, gatewayGet, gatewayPut } from "../support/etcd-gateway.js";
import { until } from "../support/wait.js";

let etcd: EtcdCluster;
let proxy: FaultProxy | undefined;

beforeAll(async () => {
  etcd = await startEtcd();
});
afterAll(async () => {
  await etcd?.close();
});
afterEach(async () => {
  await proxy?.close();
  proxy = undefined;
});

/** Opens a Watch through the gateway (a long-lived HTTP response) and resolves once etcd confirmed it. */
function openWatch(url: string): Promise<{ closed: Promise<string>; destroy(): void }> {
  return new Promise((resolve, reject) => {
    const req = request(new URL("/v3/watch", url), { method: "POST", agent: false });
    req.on("error", reject);
    req.on("response", (res) => {
      const closed = new Promise<string>((done) => {
        res.on("error", (e) => done(`error: ${e.message}`));
        res.on("aborted", () => done("aborted"));
        res.on("close", () => done("close"));
      });
      res.once("data", () => resolve({ closed, destroy: () => req.destroy() }));
    });
    req.end(JSON.stringify({ create_request: { key: Buffer.from("watched").toString("base64") } }));
  });
}

/**
 * Resolves with how the first connection to `port` ended: "closed" when the proxy closed it, "open" if it
 * was still open after 10 s (long: "closed" is the answer every caller expects, however slow the machine).
 */
function firstConnectionFate(port: number): Promise<"closed" | "open"> {
  return new Promise((resolve) => {
    const socket = connect({ host: "127.0.0.1", port });
    const timer = setTimeout(() => {
      socket.destroy();
      resolve("open");
    }, 10_000);
    const closed = () => {
      clearTimeout(timer);
      socket.destroy();
      resolve("closed");
    };
    socket.on("error", closed);
    socket.on("close", closed);
    socket.on("end", closed);
  });
}

describe("FaultProxy in front of etcd", () => {
  it("forwards requests, accepts the three target forms, and counts connections", async () => {
    proxy = await FaultProxy.start(etcd.endpoint);
    expect(proxy.url).toBe(`http://127.0.0.1:${proxy.port}`);
    expect(proxy.port).not.toBe(Number(new URL(etcd.endpoint).port));
    const status = await fetchMemberStatus(proxy.url);
    expect(status.memberId).toBe(etcd.members[0]!.memberId);
    await gatewayPut(proxy.url, "via-proxy", "1");
    expect(await gatewayGet(etcd.endpoint, "via-proxy")).toBe("1");

    const port = Number(new URL(etcd.endpoint).port);
    for (const target of [`127.0.0.1:${port}`, { host: "127.0.0.1", port }]) {
      await using other = await FaultProxy.start(target);
      expect((await fetchMemberStatus(other.url)).memberId).toBe(status.memberId);
    }

    expect(proxy.connections).toBe(0);
    const watch = await openWatch(proxy.url);
    expect(proxy.connections).toBe(1);
    watch.destroy();
    expect(await eventually(() => proxy!.connections === 0)).toBe(true);
  });

  it("cut() ends open connections at once and still accepts new ones", async () => {
    proxy = await FaultProxy.start(etcd.endpoint);
    const watch = await openWatch(proxy.url);
    const first = await Promise.race([
      watch.closed,
      new Promise((r) => setTimeout(() => r("still open"), 300)),
    ]);
    expect(first).toBe("still open");
    proxy.cut();
    expect(proxy.connections).toBe(0);
    expect(await watch.closed).toMatch(/aborted|close|error/);
    expect((await fetchMemberStatus(proxy.url)).version).toMatch(/^3\./);
  });

  it("refuse(true) closes new connections, refuse(false) lets them through again", async () => {
    proxy = await FaultProxy.start(etcd.endpoint);
    proxy.refuse(true);
    expect(await firstConnectionFate(proxy.port)).toBe("closed");
    const err = await fetchMemberStatus(proxy.url, { timeoutMs: 3_000 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(EtcdGatewayError);
    expect((err as EtcdGatewayError).kind).toBe("GATEWAY_NETWORK");
    expect((err as EtcdGatewayError).code).toBe(Code.Unavailable);
    expect(proxy.connections).toBe(0);
    proxy.refuse(false);
    expect((await fetchMemberStatus(proxy.url)).version).toMatch(/^3\./);
  });

  it("delay(ms) adds latency per chunk both ways, and heal() removes it", async () => {
    proxy = await FaultProxy.start(etcd.endpoint);
    proxy.delay(300);
    const t = performance.now();
    await fetchMemberStatus(proxy.url, { timeoutMs: 20_000 });
    // One chunk out and one back: at least twice the delay, with slack for timer granularity (a lower
    // bound the proxy enforces; how much longer it takes depends on the machine).
    expect(performance.now() - t).toBeGreaterThanOrEqual(580);
    // heal() removes it: a minute per chunk would fail the call at its 20 s timeout.
    proxy.delay(60_000);
    proxy.heal();
    expect((await fetchMemberStatus(proxy.url, { timeoutMs: 20_000 })).version).toMatch(/^3\./);
    expect(() => proxy!.delay(-1)).toThrow(InvalidArgumentError);
  });

  it("blackhole client-to-server: the request never reaches etcd and the connection stays open", async () => {
    proxy = await FaultProxy.start(etcd.endpoint);
    proxy.blackhole("client-to-server");
    // The connection is looked at while the put waits for its 5 s timeout.
    const pending = gatewayPut(proxy.url, "bh-c2s", "sent", { timeoutMs: 5_000 }).catch((e: unknown) => e);
    expect(await eventually(() => proxy!.connections === 1, 4_000)).toBe(true);
    const err = await pending;
    expect((err as EtcdGatewayError).kind).toBe("GATEWAY_TIMEOUT");
    expect(await gatewayGet(etcd.endpoint, "bh-c2s")).toBeUndefined();
    proxy.blackhole("none");
    await gatewayPut(proxy.url, "bh-c2s", "healed");
    expect(await gatewayGet(etcd.endpoint, "bh-c2s")).toBe("healed");
  });

  it("blackhole server-to-client: etcd applies the request but the answer never comes back", async () => {
    proxy = await FaultProxy.start(etcd.endpoint);
    proxy.blackhole("server-to-client");
    const err = await gatewayPut(proxy.url, "bh-s2c", "applied", { timeoutMs: 1_500 }).catch(
      (e: unknown) => e,
    );
    expect((err as EtcdGatewayError).kind).toBe("GATEWAY_TIMEOUT");
    // The request went through: etcd applies it (waited for, not assumed done by the timeout).
    await until(
      "etcd to apply the blackholed put",
      async () => (await gatewayGet(etcd.endpoint, "bh-s2c")) === "applied",
    );
    // The swallowed answer was still received (and counted) by the proxy.
    expect(proxy.bytesFromClients).toBeGreaterThan(0);
    await until("the proxy to receive the swallowed answer", () => proxy!.bytesFromServer > 0);
    proxy.blackhole("both");
    const both = await fetchMemberStatus(proxy.url, { timeoutMs: 1_000 }).catch((e: unknown) => e);
    expect((both as EtcdGatewayError).kind).toBe("GATEWAY_TIMEOUT");
    proxy.heal();
    expect((await fetchMemberStatus(proxy.url)).version).toMatch(/^3\./);
  });

  it("close() destroys connections, stops listening and is safe to call twice", async () => {
    const local = await FaultProxy.start(etcd.endpoint);
    const watch = await openWatch(local.url);
    local.delay(10_000); // the watch event below then sits on a timer that close() must clear
    await gatewayPut(etcd.endpoint, "watched", "x"); // an event now waits on the delay timer
    await local.close();
    await local.close();
    expect(local.connections).toBe(0);
    expect(await watch.closed).toMatch(/aborted|close|error/);
    expect(await firstConnectionFate(local.port)).toBe("closed");
  });
});
