import { beforeAll, describe, expect, it } from "vitest";
import { Etcd as NodeEtcd } from "../../src/client/index.js";
import { discover } from "../../src/discovery/index.js";
import { Etcd as WebEtcd } from "../../src/web/index.js";
import { type SharedCluster, useSharedEtcd } from "../support/etcd-fixture.js";

// Every live object a client holds listens for the client's close (one listener each, removed when the
// object closes). Node warned "Possible EventTarget memory leak detected" from the 11th on one client
// (seen in the soak, test/process/soak.test.ts): many caches or discoveries on one client are normal. The
// same holds for etcd-ts/web's client in Node, whose platform lifts the limit without importing node:events.

const OBJECTS = 15;

const shared = useSharedEtcd();
let cluster: SharedCluster;
beforeAll(() => {
  cluster = shared.cluster;
});

describe.each([
  { entry: "etcd-ts", Etcd: NodeEtcd },
  { entry: "etcd-ts/web", Etcd: WebEtcd },
])("a client of $entry holding many live objects", ({ Etcd }) => {
  it("opens more than ten caches and discoveries without a MaxListenersExceededWarning", async () => {
    const warnings: Error[] = [];
    const onWarning = (warning: Error) => {
      if (warning.name === "MaxListenersExceededWarning") warnings.push(warning);
    };
    process.on("warning", onWarning);
    const etcd = new Etcd({ endpoints: [cluster.endpoint] });
    try {
      const caches = Array.from({ length: OBJECTS }, (_, i) => etcd.cache({ prefix: `many/${i}/` }));
      const discoveries = Array.from({ length: OBJECTS }, (_, i) => discover(etcd, `many-${i}`));
      await Promise.all([...caches.map((c) => c.ready), ...discoveries.map((d) => d.ready)]);
      // Warnings are emitted on the next tick: a write and its answer take longer than that.
      await etcd.put("many/settled", "1");
      expect(warnings.map((w) => w.message)).toEqual([]);
      await Promise.all([...caches, ...discoveries].map((o) => o.close()));
    } finally {
      process.off("warning", onWarning);
      await etcd.close();
    }
  });
});
