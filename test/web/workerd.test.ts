import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type EtcdCluster, startEtcd } from "../../src/testing/index.js";
import { gatewayPut } from "../support/etcd-gateway.js";
import { webBundle } from "./support/web-bundle.js";
import { findWorkerd, REQUIRE_WORKERD, startWorkerd, type WorkerdServer } from "./support/workerd.js";

const WORKER = fileURLToPath(new URL("./worker/worker.ts", import.meta.url));
const workerd = findWorkerd();
const skip = workerd.executable === undefined && !REQUIRE_WORKERD;

describe.skipIf(skip)(
  `etcd-ts/web in a Worker under workerd ${workerd.version || `(${workerd.missing})`}`,
  () => {
    let cluster: EtcdCluster;
    let worker: WorkerdServer;

    beforeAll(async () => {
      const [started, script] = await Promise.all([startEtcd(), webBundle(WORKER, "workerd")]);
      cluster = started;
      worker = await startWorkerd(workerd, { script, bindings: { ETCD: cluster.endpoint } });
    }, 120_000);

    afterAll(async () => {
      await worker?.close();
      await cluster?.close();
    });

    it("raw fetch: the Worker reads a key through etcd's gateway on loopback", async () => {
      await gatewayPut(cluster.endpoint, "wk/raw", "hello");
      const res = await fetch(`${worker.url}/raw?key=wk/raw`);
      expect(res.status, worker.logTail()).toBe(200);
      expect(await res.json()).toEqual({ value: "hello" });
    });
  },
);
