import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { Etcd } from "../../src/client/index.js";
import { type EtcdCluster, FaultProxy, startEtcd } from "../../src/testing/index.js";
import type { Child } from "../support/child.js";
import { startCli, stderrOf } from "./support.js";

let cluster: EtcdCluster;
let proxy: FaultProxy;
let etcd: Etcd;
let child: Child | undefined;

beforeAll(async () => {
  cluster = await startEtcd();
  proxy = await FaultProxy.start(cluster.endpoint);
  etcd = new Etcd({ endpoints: cluster.endpoints });
});

afterEach(async () => {
  await child?.kill();
  child = undefined;
});

afterAll(async () => {
  await etcd?.close();
  await proxy?.close();
  await cluster?.close();
});

/** The revision of a `watch --json` line. */
const revisionOf = (line: string) => BigInt((JSON.parse(line) as { revision: string }).revision);

describe("etcd-ts watch", { timeout: 120_000 }, () => {
  it("prints every revision once and in order across connection cuts and an outage, and SIGINT ends it with 0", async () => {
    const written: bigint[] = [(await etcd.put("w/start", "0")).revision];
    const c = startCli([
      "--endpoints",
      proxy.url,
      "watch",
      "w/",
      "--prefix",
      "--rev",
      String(written[0]),
      "--json",
    ]);
    child = c;
    const delivered = (revision: bigint, what: string) =>
      c.waitForLine(what, (line) => revisionOf(line) >= revision);
    await delivered(written[0]!, "the first event (the watch is up)");
    for (let round = 1; round <= 6; round++) {
      for (let i = 0; i < 3; i++) written.push((await etcd.put(`w/${round}/${i}`, `v${i}`)).revision);
      await delivered(written.at(-1)!, `the events of round ${round}, before its cut`);
      await c.until(`a connection through the proxy before cut ${round}`, () => proxy.connections > 0);
      // Round 3 is an outage: new connections are refused while more is written.
      if (round === 3) proxy.refuse(true);
      proxy.cut();
      for (let i = 0; i < 2; i++) written.push((await etcd.put(`w/${round}/late${i}`, "x")).revision);
      written.push((await etcd.delete(`w/${round}/0`)).revision);
      proxy.refuse(false);
      await c.until(`the watch to say it resumed after cut ${round}`, () => {
        return (
          stderrOf(c)
            .split("\n")
            .filter((l) => l === "etcd-ts: watch: resumed").length === round
        );
      });
    }
    await delivered(written.at(-1)!, "the last event, after the last cut");
    expect(c.lines.map(revisionOf)).toEqual(written);
    const types = c.lines.map((line) => (JSON.parse(line) as { type: string }).type);
    expect(types.filter((t) => t === "delete")).toHaveLength(6);

    c.signal("SIGINT");
    const exit = await c.waitForExit("the watch to end after SIGINT");
    expect(exit).toEqual({ code: 0, signal: null });
    const notes = stderrOf(c).split("\n");
    expect(
      notes.filter((l) => l.startsWith("etcd-ts: watch: connection lost; resuming from revision ")),
    ).toHaveLength(6);
    expect(notes.every((l) => l.startsWith("etcd-ts: watch: "))).toBe(true);
  });

  it("prints etcdctl's PUT/DELETE, key, value lines (with --prev-kv the old pair first), and SIGTERM ends it with 0", async () => {
    const from = (await etcd.put("h/key", "one")).revision;
    await etcd.put("h/key", "two");
    await etcd.delete("h/key");
    const c = startCli([
      "--endpoints",
      cluster.endpoint,
      "watch",
      "h/key",
      "--prev-kv",
      "--rev",
      String(from),
    ]);
    child = c;
    await c.waitForLine("the DELETE line", (line) => line === "DELETE");
    // The delete's two pairs (previous, then the deleted key with no value) follow the DELETE line.
    await c.until("the lines after DELETE", () => c.lines.length >= c.lines.indexOf("DELETE") + 4);
    c.signal("SIGTERM");
    expect(await c.waitForExit("the watch to end after SIGTERM")).toEqual({ code: 0, signal: null });
    // Empty lines (the deleted key's value) are not kept by the line reader.
    expect(c.lines).toEqual([
      ...["PUT", "h/key", "one"],
      ...["PUT", "h/key", "one", "h/key", "two"],
      ...["DELETE", "h/key", "two", "h/key"],
    ]);
  });

  it("a watch the server ends (a compacted --rev) exits with 1 and one line", async () => {
    const old = (await etcd.put("c/key", "1")).revision;
    const now = (await etcd.put("c/key", "2")).revision;
    await etcd.compact(now);
    const c = startCli(["--endpoints", cluster.endpoint, "watch", "c/key", "--rev", String(old)]);
    child = c;
    const exit = await c.waitForExit("the watch of a compacted revision to fail");
    expect(exit.code).toBe(1);
    expect(c.stderrTail()).toMatch(/^etcd-ts: .*compacted/);
    expect(c.stderrTail().split("\n")).toHaveLength(1);
  });
});
