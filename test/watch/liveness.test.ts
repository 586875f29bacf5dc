import { afterEach, beforeAll, describe, expect, it } from "vitest";
import { Etcd, type EtcdOptions, type WatchBatch } from "../../src/client/index.js";
import { type EtcdCluster, FaultProxy } from "../../src/testing/index.js";
import { DiagnosticsRecorder } from "../support/diagnostics.js";
import { useEtcd } from "../support/etcd-fixture.js";
import { callsStarted } from "../support/server-metrics.js";
import { transports } from "../support/transports.js";
import { until } from "../support/wait.js";

/**
 * The Watch stream's liveness is its connection's: a silent stream gets its connection checked (an HTTP/2
 * PING on the default transport (h2-net) and on node:http2; a `Maintenance/Status` call on grpc-js, connect-node and other
 * transports without one), and an unanswered check abandons the stream, which resumes once the endpoint
 * answers again. With the transports' own keepalive off, the check alone must find a blackholed
 * connection and a frozen member.
 */
const WATCH = "etcdserverpb.Watch/Watch";
const STATUS = "etcdserverpb.Maintenance/Status";
const STREAMS = { idleTimeoutMs: 1000, probeTimeoutMs: 1000, backoff: { initialMs: 20, maxMs: 500 } };

describe("Watch stream liveness without the transport's keepalive", () => {
  const env = useEtcd();
  const { cleanups } = env;
  let etcd: EtcdCluster;
  let proxy: FaultProxy;
  let direct: Etcd;

  beforeAll(() => {
    etcd = env.cluster;
    direct = env.client();
  });
  afterEach(() => {
    if (etcd.members[0]!.frozen) etcd.members[0]!.thaw();
  });

  for (const leg of transports) {
    /** The client under test through `proxy`, on `leg`'s transport with its keepalive off. */
    function client(url: string): Etcd {
      const off = { keepaliveIntervalMs: 3_600_000, keepaliveTimeoutMs: 5_000 };
      const options: EtcdOptions = {
        endpoints: [url],
        streams: STREAMS,
        ...off,
        ...(leg.name === "h2-net" ? {} : { transport: (e) => leg.create({ baseUrl: e.url, ...off }) }),
      };
      const c = new Etcd(options);
      cleanups.push(() => c.close());
      return c;
    }

    for (const fault of ["blackhole", "freeze"] as const) {
      it(`${leg.name}: a ${fault === "freeze" ? "frozen member" : "blackholed connection"} abandons the silent stream, which resumes after`, async () => {
        proxy = await FaultProxy.start(etcd.endpoint);
        cleanups.push(() => proxy.close());
        const seen = new DiagnosticsRecorder();
        cleanups.push(() => seen.close());
        const c = client(proxy.url);
        const w = c.watch({ prefix: `live/${leg.name}/${fault}/` });
        const got: WatchBatch[] = [];
        w.on("batch", (b) => got.push(b));
        await until("the watch active", () => w.state === "active");
        const statusCalls = await callsStarted(etcd.endpoint, STATUS);

        if (fault === "freeze") await etcd.members[0]!.freeze();
        else proxy.blackhole("both");
        await until(
          "the stream abandoned by its liveness check",
          () => seen.of("etcd-ts:stream:close", (e) => e.method === WATCH).length > 0,
        );
        const [closed] = seen.of("etcd-ts:stream:close", (e) => e.method === WATCH);
        expect(closed!.reason).toBe("failed");
        expect(String((closed!.error as Error).message)).toMatch(/did not answer a liveness check/);

        if (fault === "freeze") etcd.members[0]!.thaw();
        else proxy.heal();
        const { revision } = await direct.put(`live/${leg.name}/${fault}/after`, "1");
        await until("the event after the fault", () =>
          got.some((b) => b.events.some((e) => e.kv.modRevision === revision)),
        );
        if (leg.pings) {
          // The built-in transports (h2-net, the default, and node:http2) check with PINGs: no Status call reached etcd.
          expect(await callsStarted(etcd.endpoint, STATUS)).toBe(statusCalls);
        } else {
          // The others have no PING to ask for: the silent stream's checks are Status calls.
          await until(
            "a Status call checking the silent stream",
            async () => (await callsStarted(etcd.endpoint, STATUS)) > statusCalls,
          );
        }
      }, 60_000);
    }
  }
});
