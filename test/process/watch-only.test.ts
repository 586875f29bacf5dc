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

const PREFIX = "watched/";
const SENTINEL = `${PREFIX}~sentinel`;
/** Connection cuts, each after a write. */
const CUTS = 100;
/** After these cuts etcd is SIGKILLed and restarted (a write before and after each). */
const RESTART_AFTER = new Set([25, 50, 75]);
/** With auth, the test idles past the token TTL before these cuts, so the child's cached token is stale. */
const IDLE_BEFORE = new Set([10, 60]);

describe.each([
  { auth: false, entry: "node", name: "auth off" },
  { auth: true, entry: "node", name: "auth on, tokens expiring" },
  // etcd-ts/web holds a Node process as etcd-ts does: the open watch (its request, and the client's
  // process ref through backoff) keeps it alive, and close() lets it exit (docs/web.md).
  { auth: false, entry: "web", name: "etcd-ts/web over the gateway, auth off" },
  { auth: true, entry: "web", name: "etcd-ts/web over the gateway, auth on, tokens expiring" },
] as const)("a program whose only work is a watch ($name)", ({ auth, entry }) => {
  let pc: ProcessCluster | undefined;
  let child: Child | undefined;

  afterEach(async () => {
    await child?.kill();
    child = undefined;
    await pc?.close();
    pc = undefined;
  });

  it(`stays alive through ${CUTS} cuts and ${RESTART_AFTER.size} etcd crashes, delivers every revision once and in order, and exits by itself after close`, async () => {
    pc = await startProcessCluster({ auth, prefix: PREFIX, permission: "read" });
    const { proxy } = pc;
    const from = await write(pc, `${PREFIX}start`);
    const c = Child.start("watch-only.ts", [
      JSON.stringify({
        endpoint: proxy.url,
        prefix: PREFIX,
        startRevision: String(from),
        sentinel: SENTINEL,
        auth: pc.childAuth,
        entry,
      }),
    ]);
    child = c;
    const delivered = (revision: bigint, what: string) =>
      c.waitFor(what, (e) => e.type === "event" && BigInt(e.revision as string) >= revision);
    await delivered(from, "the first event (the watch is up)");

    await cutWhileFollowing(pc, c, {
      cuts: CUTS,
      restartAfter: RESTART_AFTER,
      idleBefore: IDLE_BEFORE,
      auth,
      prefix: PREFIX,
      change: (cut) => write(pc!, `${PREFIX}k${cut}`),
      delivered,
    });
    const to = await write(pc, SENTINEL);

    const exit = await c.waitForExit("exit after the sentinel and close()", 30_000);
    expect(exit, `exit of the watch-only child; stderr:\n${c.stderrTail()}`).toEqual({
      code: 0,
      signal: null,
    });
    expect(c.eventsOf("closed")).toHaveLength(1);
    const expected = await storeHistory(pc, PREFIX, from, to);
    const got: HistoryEvent[] = c
      .eventsOf("event")
      .map((e) => ({ revision: BigInt(e.revision as string), key: e.key as string, type: "put" }));
    const report = checkHistory(expected, got);
    expect(report.ok, describeReport(report)).toBe(true);
    expect(got.length).toBe(expected.length);
  }, 120_000);
});
