import type { Transport } from "@connectrpc/connect";
import { afterAll, afterEach, beforeAll, expect } from "vitest";
import type { Etcd, EtcdOptions } from "../../src/client/index.js";
import { createConnectNodeTransport } from "../../src/connect-node/index.js";
import { FaultProxy } from "../../src/testing/index.js";
import { type EtcdFixture, type UseEtcdOptions, useEtcd } from "./etcd-fixture.js";
import type { HistoryRecorder } from "./history.js";
import { until } from "./wait.js";

/** A transport the fixture closes after the file. */
type ClosableTransport = Transport & { close(): Promise<void> };

/**
 * What {@link useProxiedEtcd} gives a file: {@link useEtcd}'s fixture, a {@link FaultProxy} in front of
 * its member for the clients under test, and two ways to the member that owe nothing to the code under
 * test and never cross the proxy.
 */
export interface ProxiedEtcdFixture extends EtcdFixture {
  /** In front of the member; healed after each test. */
  readonly proxy: FaultProxy;
  /** A client straight to the member: the test's writes, compactions and reference reads. */
  readonly direct: Etcd;
  /** A plain Connect transport straight to the member, for reference reads with no client code between. */
  readonly raw: ClosableTransport;
  /**
   * Cuts the proxy's connections `cuts` times, each cut hitting live watches: before each (and once
   * after the last) a marker `<prefix>!mark<i>` is written directly and every recorder must have seen it
   * (within `markerMs`, a deadline that only catches hangs), so the watches resumed since the last cut.
   */
  cutBetweenMarkers(
    prefix: string,
    recorders: HistoryRecorder[],
    cuts: number,
    markerMs: number,
  ): Promise<void>;
}

/** Options of {@link useProxiedEtcd}: {@link useEtcd}'s, and what the direct client gets. */
export interface UseProxiedEtcdOptions extends UseEtcdOptions {
  /** Options of {@link ProxiedEtcdFixture.direct} (its endpoints are the member's). Default: none. */
  direct?: Partial<EtcdOptions>;
}

/**
 * The setup of the files that break the way between a client and etcd (watch resumption, the gateway's
 * faults): one etcd per file as {@link useEtcd} starts it, a fault proxy in front of it, a direct client
 * and a raw transport. Registers its hooks itself; call it at the top of the file or block, before the
 * hooks that use it. After each test the proxy is healed, then the cleanups run.
 */
export function useProxiedEtcd(options: UseProxiedEtcdOptions = {}): ProxiedEtcdFixture {
  const env = useEtcd(options);
  let parts: { proxy: FaultProxy; direct: Etcd; raw: ClosableTransport } | undefined;
  beforeAll(async () => {
    const { endpoint } = env.cluster;
    parts = {
      proxy: await FaultProxy.start(endpoint),
      // Closed with the fixture's other clients, after the file.
      direct: env.client({ ...options.direct, endpoints: [endpoint] }),
      raw: createConnectNodeTransport({ baseUrl: endpoint }),
    };
  });
  // Registered after useEtcd's: vitest runs after-hooks last registered first, so the proxy is healed
  // before the cleanups close what the test opened, and closed before the etcd stops.
  afterEach(() => {
    parts?.proxy.heal();
  });
  afterAll(async () => {
    await parts?.raw.close();
    await parts?.proxy.close();
  });
  const started = () => {
    if (!parts)
      throw new Error("useProxiedEtcd: the proxy starts in beforeAll; read it from a hook or a test");
    return parts;
  };
  return {
    get cluster() {
      return env.cluster;
    },
    cleanups: env.cleanups,
    client: (own) => env.client(own),
    get proxy() {
      return started().proxy;
    },
    get direct() {
      return started().direct;
    },
    get raw() {
      return started().raw;
    },
    async cutBetweenMarkers(prefix, recorders, cuts, markerMs) {
      const { direct, proxy } = started();
      for (let i = 0; i <= cuts; i++) {
        const mark = (await direct.put(`${prefix}!mark${i}`, "")).revision;
        await until(
          `marker ${i}, written after ${i} cuts`,
          () => recorders.every((r) => r.events.some((e) => e.revision >= mark)),
          markerMs,
        );
        if (i === cuts) return;
        expect(proxy.connections).toBeGreaterThan(0);
        proxy.cut();
        // Lets the client see the cut before the next marker.
        await new Promise((r) => setTimeout(r, 80));
      }
    },
  };
}
