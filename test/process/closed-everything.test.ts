import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { type EtcdCluster, FaultProxy, startEtcd } from "../../src/testing/index.js";
import { Child, type ChildEvent } from "../support/child.js";
import { sleep } from "./support.js";

/**
 * What `process.getActiveResourcesInfo()` lists is what keeps the event loop alive (unref'd timers and
 * sockets are left out). Before the client exists, a child whose stdout and stderr are pipes lists its
 * stdio pipes ("PipeWrap") and nothing else; after everything is closed it must list exactly that again.
 */
function expectNothingLeft(closed: ChildEvent, stderr: string) {
  const baseline = [...(closed.baseline as string[])].sort();
  expect(baseline.every((r) => r === "PipeWrap" || r === "TTYWrap")).toBe(true);
  expect(
    [...(closed.resources as string[])].sort(),
    `resources right after close; stderr:\n${stderr}`,
  ).toEqual(baseline);
}

describe("a program that opened one of everything and closed it", () => {
  let cluster: EtcdCluster;
  let proxy: FaultProxy | undefined;
  let child: Child | undefined;

  beforeAll(async () => {
    cluster = await startEtcd();
  });
  afterEach(async () => {
    await child?.kill();
    child = undefined;
    await proxy?.close();
    proxy = undefined;
  });
  afterAll(async () => {
    await cluster?.close();
  });

  it("holds nothing after closing each object and the client, and exits by itself", async () => {
    const c = Child.start("closed-everything.ts", [
      JSON.stringify({ endpoint: cluster.endpoint, mode: "close-each" }),
    ]);
    child = c;
    const opened = await c.waitFor("every object opened", (e) => e.type === "opened");
    expect(opened.instances).toBe(1);
    const closed = await c.waitFor("everything closed", (e) => e.type === "closed");
    expectNothingLeft(closed, c.stderrTail());
    const exit = await c.waitForExit("exit after everything was closed", 15_000);
    expect(exit, c.stderrTail()).toEqual({ code: 0, signal: null });
  });

  it("stays alive while its streams reconnect, then holds nothing once the client alone is closed", async () => {
    proxy = await FaultProxy.start(cluster.endpoint);
    const c = Child.start("closed-everything.ts", [
      JSON.stringify({ endpoint: proxy.url, mode: "close-client-while-down" }),
    ]);
    child = c;
    await c.waitFor("every object opened", (e) => e.type === "opened");
    proxy.refuse();
    proxy.cut();
    // Let every stream fail and back off a few times; an open watch, lease, lock, registration and
    // discovery must hold the process meanwhile.
    await sleep(1_000);
    expect(c.exit, `the child ended before it was told to close; stderr:\n${c.stderrTail()}`).toBeUndefined();
    c.signal("SIGUSR2");
    const closed = await c.waitFor("the client closed", (e) => e.type === "closed");
    expectNothingLeft(closed, c.stderrTail());
    const exit = await c.waitForExit("exit after the client was closed", 15_000);
    expect(exit, c.stderrTail()).toEqual({ code: 0, signal: null });
  });
});
