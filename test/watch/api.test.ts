import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Etcd, WatchClosedError, type WatcherState } from "../../src/client/index.js";
import { FaultProxy } from "../../src/testing/index.js";
import { type SharedCluster, useSharedEtcd } from "../support/etcd-fixture.js";
import { until, within } from "../support/wait.js";

/**
 * The watch API as users reach it through `Etcd`: events in the read API's shapes, `watcher.created` and
 * `state`. The deep behaviour (shared streams, resume, liveness) is in the other files of test/watch.
 */
const env = useSharedEtcd();
let cluster: SharedCluster;
let etcd: Etcd;
const text = (b: Uint8Array) => new TextDecoder().decode(b);

beforeAll(() => {
  cluster = env.cluster;
  etcd = env.client();
});

afterAll(async () => {
  await etcd?.close();
});

describe("watch events", () => {
  it("are { type, kv, prevKv } with the KeyValue class that get() returns", async () => {
    const watcher = etcd.watch({ prefix: "events/" }, { prevKv: true });
    await within(watcher.created, "the watch to be created");
    await etcd.put("events/a", '{"n":1}');
    await etcd.put("events/a", '{"n":2}');
    await etcd.delete("events/a");
    const events = [];
    for await (const batch of watcher) {
      events.push(...batch.events);
      if (events.length >= 3) break;
    }
    const read = await etcd.put("events/b", "x").then(() => etcd.get("events/b"));
    expect(events.map((e) => e.type)).toEqual(["put", "put", "delete"]);
    for (const e of events) expect(e.kv).toBeInstanceOf(read!.constructor);
    expect(events[0]!.kv.keyText()).toBe("events/a");
    expect(events[1]!.kv.json()).toEqual({ n: 2 });
    expect(events[1]!.prevKv?.json()).toEqual({ n: 1 });
    expect(events[2]!.kv.text()).toBe("");
    expect(events[2]!.prevKv?.text()).toBe('{"n":2}');
    expect(events[2]!.kv.modRevision).toBeGreaterThan(events[1]!.kv.modRevision);
  });
});

describe("watcher.created", () => {
  it("resolves with the revision the watch starts after: older writes are not delivered, newer ones are", async () => {
    await etcd.put("created/k", "before");
    const watcher = etcd.watch("created/k");
    const startsAfter = await within(watcher.created, "the watch to be created");
    const put = await etcd.put("created/k", "after");
    expect(put.revision).toBeGreaterThan(startsAfter);
    for await (const batch of watcher) {
      expect(batch.events.map((e) => text(e.kv!.value))).toEqual(["after"]);
      expect(batch.events[0]!.kv!.modRevision).toBe(put.revision);
      break;
    }
  });

  it("is startRevision - 1 for a watch from a given revision", async () => {
    const first = await etcd.put("created/from", "1");
    const watcher = etcd.watch("created/from", { startRevision: first.revision });
    expect(await within(watcher.created, "the watch to be created")).toBe(first.revision - 1n);
    watcher.close();
  });

  it("rejects with WatchClosedError when the watch is closed before it was created", async () => {
    const watcher = etcd.watch("created/never");
    watcher.close();
    await expect(watcher.created).rejects.toBeInstanceOf(WatchClosedError);
  });
});

describe("watcher state events", () => {
  it("follow the watch through a connection cut: active, disconnected, then active again", async () => {
    const proxy = await FaultProxy.start(cluster.endpoint);
    const client = new Etcd({ endpoints: [proxy.url], streams: { backoff: { initialMs: 20, maxMs: 200 } } });
    try {
      const watcher = client.watch("state/k");
      const states: WatcherState[] = [];
      watcher.on("state", (s) => states.push(s));
      await within(watcher.created, "the watch to be created");
      await until("the watch to be active", () => states.includes("active"));
      proxy.cut();
      await until("the watch to be active again after the cut", () => {
        const disconnected = states.indexOf("disconnected");
        return disconnected >= 0 && states.indexOf("active", disconnected) > disconnected;
      });
      await watcher.close();
      await until("the closed state", () => states.at(-1) === "closed");
    } finally {
      await client.close();
      await proxy.close();
    }
  });
});
