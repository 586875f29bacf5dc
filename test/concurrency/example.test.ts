import { afterAll, beforeAll, expect, it, vi } from "vitest";
import { main } from "../../examples/concurrency.js";
import { Etcd } from "../../src/client/index.js";
import { type SharedCluster, useSharedEtcd } from "../support/etcd-fixture.js";

const shared = useSharedEtcd();
let cluster: SharedCluster;

beforeAll(async () => {
  cluster = shared.cluster;
  vi.spyOn(console, "log").mockImplementation(() => {});
});
afterAll(async () => {
  vi.restoreAllMocks();
});

it("examples/concurrency.ts runs against a real etcd and leaves no lock or candidate key", async () => {
  expect(await main(cluster.endpoints)).toEqual({
    wroteReport: true,
    tryLock: true,
    leader: "node-a (v2)",
    total: 150,
  });
  await using etcd = new Etcd({ endpoints: cluster.endpoints });
  expect((await etcd.get("example/report"))?.text()).toMatch(/^written under lock revision \d+$/);
  expect((await etcd.range({ prefix: "example/locks/" })).kvs).toHaveLength(0);
  expect((await etcd.range({ prefix: "example/election/" })).kvs).toHaveLength(0);
  expect((await etcd.get("example/bank/alice"))?.text()).toBe("90");
});
