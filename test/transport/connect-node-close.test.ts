import { createHook } from "node:async_hooks";
import { create } from "@bufbuild/protobuf";
import { createClient } from "@connectrpc/connect";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { QueuedIterator } from "../../src/client/core/queued-iterator.js";
import { createConnectNodeTransport } from "../../src/connect-node/index.js";
import { Watch, type WatchRequest, WatchRequestSchema } from "../../src/gen/etcdserverpb/rpc_pb.js";
import { type EtcdCluster, startEtcd } from "../../src/testing/index.js";
import { serverWatchers } from "../support/server-metrics.js";
import { until } from "../support/wait.js";

// connect-node's session manager arms a 15-minute idle timer when the last stream of a connection closes.
// A transport closed with a stream open (a watch, a balanced transport's health `Watch`) left that
// manager state first, so the timer was armed after its cleanup and held the dead connection (its
// session, socket and buffers) for 15 minutes: the soak's balanced transports grew the heap by about
// 0.5 MiB/s. Found by test/process/soak.test.ts (npm run bench:soak).

/** connect-node's default `idleConnectionTimeoutMs`: its idle timers are the only Timeouts of this length. */
const IDLE_MS = 15 * 60 * 1000;
const TRANSPORTS = 5;

let cluster: EtcdCluster;
beforeAll(async () => {
  cluster = await startEtcd();
});
afterAll(async () => {
  await cluster?.close();
});

describe("createConnectNodeTransport() close()", () => {
  it("leaves no idle timer holding its connection when a stream was open", async () => {
    // Pending Timeouts of IDLE_MS, by async id (destroy: cleared or fired).
    const idleTimers = new Set<number>();
    const hook = createHook({
      init(id, type, _trigger, resource) {
        if (type === "Timeout" && (resource as { _idleTimeout?: number })._idleTimeout === IDLE_MS)
          idleTimers.add(id);
      },
      destroy(id) {
        idleTimers.delete(id);
      },
    }).enable();
    try {
      for (let i = 0; i < TRANSPORTS; i++) {
        const transport = createConnectNodeTransport({ baseUrl: cluster.endpoint });
        const requests = new QueuedIterator<WatchRequest>();
        requests.push(
          create(WatchRequestSchema, {
            requestUnion: { case: "createRequest", value: { key: new TextEncoder().encode(`idle/${i}`) } },
          }),
        );
        const responses = createClient(Watch, transport).watch(requests)[Symbol.asyncIterator]();
        const created = await responses.next();
        expect(created.value?.created).toBe(true);
        // The watch stream is open: close the transport under it.
        await transport.close();
        await responses.next().catch(() => undefined);
      }
      // The member saw every stream end (the client's streams closed long before it can see that).
      await until(
        "etcd's watcher count to reach 0",
        async () => (await serverWatchers(cluster.endpoint)) === 0,
        10_000,
      );
      expect(idleTimers.size).toBe(0);
    } finally {
      hook.disable();
    }
  });
});
