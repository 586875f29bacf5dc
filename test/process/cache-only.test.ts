import { afterEach, describe, expect, it } from "vitest";
import { Child } from "../support/child.js";
import { checkHistory, describeReport, type HistoryEvent } from "../support/history.js";
import {
  cutWhileFollowing,
  type ProcessCluster,
  startProcessCluster,
  storeHistory,
  write,
} from "./support.js";

const PREFIX = "cached/";
const SENTINEL = `${PREFIX}~sentinel`;
/** Connection cuts, each after a write (or a delete). */
const CUTS = 40;
/** After these cuts etcd is SIGKILLed and restarted (a write before and after each). */
const RESTART_AFTER = new Set([15, 30]);
/** With auth, the test idles past the token TTL before these cuts, so the child's cached token is stale. */
const IDLE_BEFORE = new Set([10, 24]);

describe.each([
  { auth: false, name: "auth off" },
  { auth: true, name: "auth on, tokens expiring" },
])("a program whose only work is a cache ($name)", ({ auth }) => {
  let pc: ProcessCluster | undefined;
  let child: Child | undefined;

  afterEach(async () => {
    await child?.kill();
    child = undefined;
    await pc?.close();
    pc = undefined;
  });

  it(`stays alive through ${CUTS} cuts and ${RESTART_AFTER.size} etcd crashes, mirrors every change once, and exits by itself after cache.close()`, async () => {
    pc = await startProcessCluster({ auth, prefix: PREFIX, permission: "read" });
    const { proxy, admin } = pc;
    await write(pc, `${PREFIX}before`);
    const c = Child.start("cache-only.ts", [
      JSON.stringify({ endpoint: proxy.url, prefix: PREFIX, sentinel: SENTINEL, auth: pc.childAuth }),
    ]);
    child = c;
    const ready = await c.waitFor("the cache ready", (e) => e.type === "ready");
    const from = BigInt(ready.revision as string) + 1n;
    const delivered = (revision: bigint, what: string) =>
      c.waitFor(what, (e) => e.type === "event" && BigInt(e.revision as string) >= revision);

    await cutWhileFollowing(pc, c, {
      cuts: CUTS,
      restartAfter: RESTART_AFTER,
      idleBefore: IDLE_BEFORE,
      auth,
      prefix: PREFIX,
      // Every fourth change is a delete.
      change: async (cut) =>
        cut % 4 === 0
          ? (await admin.delete(`${PREFIX}k${cut - 1}`)).revision
          : await write(pc!, `${PREFIX}k${cut}`, `v${cut}`),
      delivered,
    });
    const to = await write(pc, SENTINEL);

    const content = await c.waitFor("the cache's content after the sentinel", (e) => e.type === "content");
    const revision = BigInt(content.revision as string);
    expect(revision).toBe(to);
    const truth = await admin.range({ prefix: PREFIX }, { revision });
    expect(content.kvs).toEqual(truth.kvs.map((kv) => [kv.keyText(), kv.text(), String(kv.modRevision)]));

    const closed = await c.waitFor("the cache closed", (e) => e.type === "closed");
    expect(closed.state).toBe("closed");
    // The cache's hold on the process (a ref'd timer) is gone at once. The client stays open: its connection
    // may still be ref'd while the watch stream winds down, so the proof that nothing holds the process is
    // that it exits.
    expect(closed.resources as string[], c.stderrTail()).not.toContain("Timeout");
    const exit = await c.waitForExit("exit after cache.close()", 30_000);
    expect(exit, `exit of the cache-only child; stderr:\n${c.stderrTail()}`).toEqual({
      code: 0,
      signal: null,
    });

    // Every change reached the cache once, in order: none was skipped by a resync.
    const events = c.eventsOf("event");
    expect(events.filter((e) => e.resync)).toEqual([]);
    const expected = await storeHistory(pc, PREFIX, from, to);
    const got: HistoryEvent[] = events.map((e) => ({
      revision: BigInt(e.revision as string),
      key: e.key as string,
      type: e.kind as "put" | "delete",
    }));
    const report = checkHistory(expected, got);
    expect(report.ok, describeReport(report)).toBe(true);
  }, 150_000);
});
