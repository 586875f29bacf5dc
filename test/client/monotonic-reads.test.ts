import { Code } from "@connectrpc/connect";
import { beforeAll, describe, expect, it } from "vitest";
import { Etcd, type EtcdOptions, InvalidArgumentError, op, StaleReadError } from "../../src/client/index.js";
import { DEFAULT_ETCD_VERSION, type EtcdMember, FaultProxy } from "../../src/testing/index.js";
import { DiagnosticsRecorder } from "../support/diagnostics.js";
import { useEtcd } from "../support/etcd-fixture.js";
import { until } from "../support/wait.js";

/**
 * `monotonicReads` (Go's `client/v3/ordering`) on a 3-member cluster with one member held behind: it is
 * frozen (SIGSTOP) while writes go on, then thawed, and serializable reads reach it after a failover.
 * "Before it catches up" is made certain, not a race, by etcd's failpoint build: the lagging member sleeps
 * before applying each entry (`beforeApplyOneEntryNormal`), far longer than this file runs, so it keeps
 * answering at its old revision. Without it the thaw starts a race: a member frozen through 3 writes and
 * read right after its thaw answered at the newest revision in 1 round of 5 here, behind it in 4. The leader sits behind a fault proxy, so the client can lose it and fail over. 3.4 has no
 * failpoint build: this file runs on 3.5, 3.6 and 3.7.
 */
const LINE = process.env.ETCD_VERSION || DEFAULT_ETCD_VERSION;
/**
 * How long the lagging member waits before applying each entry: 10 minutes, longer than vitest lets this
 * file's hook and tests run (their timeouts), so it never catches up while the file runs; closing the
 * cluster kills it.
 */
const HOLD = "sleep(600000)";
/** Retries quick enough that the refused reads take little time; attempts and deadline stay the defaults. */
const QUICK: Partial<EtcdOptions> = { retry: { initialBackoffMs: 10, maxBackoffMs: 50 } };

describe(`monotonicReads with a member held behind (etcd ${LINE}, 3 members, failpoints)`, () => {
  const env = useEtcd({ start: { version: LINE, members: 3, failpoints: {} } });
  const { cleanups } = env;
  /** The leader at the start: every write goes through it. */
  let leader: EtcdMember;
  /** A follower frozen through the writes and kept from applying them. */
  let lagging: EtcdMember;
  /** The other follower: it applies everything. */
  let follower: EtcdMember;
  /** A client of the leader alone, for the file's own checks. */
  let direct: Etcd;
  /** The revision the lagging member stays at. */
  let held: bigint;

  /** The store revision `member` answers at now (a serializable read of its own state). */
  async function revisionOf(member: EtcdMember): Promise<bigint> {
    return (await direct.maintenance.status(member.clientUrl)).revision;
  }

  beforeAll(async () => {
    leader = await env.cluster.leader();
    [lagging, follower] = env.cluster.members.filter((m) => m !== leader) as [EtcdMember, EtcdMember];
    direct = env.client({ endpoints: [leader.clientUrl] });
    held = (await direct.put("k", "before")).revision;
    await until(
      "the lagging member to apply the first write",
      async () => (await revisionOf(lagging)) >= held,
    );
    await lagging.setFailpoint("beforeApplyOneEntryNormal", HOLD);
    await lagging.freeze();
    for (let i = 0; i < 3; i++) await direct.put("k", `while-frozen-${i}`);
    lagging.thaw();
    expect(await revisionOf(lagging), "the lagging member's revision after the thaw").toBe(held);
  });

  /** A proxy in front of the leader, closed after the test. */
  async function leaderProxy(): Promise<FaultProxy> {
    const proxy = await FaultProxy.start(leader.clientUrl);
    cleanups.push(() => proxy.close());
    return proxy;
  }

  /** The leader goes away for the client: open connections reset, new ones closed at once. */
  function loseLeader(proxy: FaultProxy): void {
    proxy.refuse();
    proxy.cut();
  }

  function recorder(): DiagnosticsRecorder {
    const d = new DiagnosticsRecorder();
    cleanups.push(() => d.close());
    return d;
  }

  it("without it, a serializable read after failing over to the lagging member goes back in time", async () => {
    const proxy = await leaderProxy();
    const c = env.client({ ...QUICK, endpoints: [proxy.url, lagging.clientUrl] });
    const { revision: seen } = await c.put("k", "off");
    loseLeader(proxy);

    const read = await c.range("k", { serializable: true });
    expect(read.revision).toBe(held);
    expect(read.revision).toBeLessThan(seen);
    expect(read.kvs[0]?.text()).toBe("before");
  });

  it("with it, the reads are refused with StaleReadError while no member new enough is reachable", async () => {
    const proxy = await leaderProxy();
    const c = env.client({ ...QUICK, endpoints: [proxy.url, lagging.clientUrl], monotonicReads: true });
    const { revision: seen } = await c.put("k", "on");
    loseLeader(proxy);
    const seenEvents = recorder();

    const reads: [string, () => Promise<unknown>][] = [
      ["get", () => c.get("k", { serializable: true })],
      ["range", () => c.range("k", { serializable: true })],
      [
        "a txn that reads",
        () =>
          c
            .txn()
            .onSuccess(op.get("k", { serializable: true }))
            .commit(),
      ],
      ["iterate", () => c.iterate("k", { serializable: true }).next()],
      // A namespace view shares its client's floor: it saw nothing itself.
      ["a namespace view's get", () => c.namespace("ns/").get("k", { serializable: true })],
    ];
    for (const [name, read] of reads) {
      const err = await read().then(
        (value) => value,
        (e: unknown) => e,
      );
      expect(err, name).toBeInstanceOf(StaleReadError);
      expect(err, name).toMatchObject({
        code: Code.Unavailable,
        endpoint: lagging.clientUrl,
        revision: held,
        seenRevision: seen,
      });
    }
    // Each read reached the lagging member, which answered (too old), and was asked again elsewhere.
    const staleAnswers = seenEvents.of(
      "etcd-ts:call:error",
      (e) => e.endpoint === lagging.clientUrl && e.error instanceof StaleReadError,
    );
    expect(staleAnswers.length).toBeGreaterThanOrEqual(reads.length);
    expect(seenEvents.of("etcd-ts:call:end", (e) => e.service === "etcdserverpb.KV")).toEqual([]);

    // The leader back: the next read is answered at the newest revision or later, never below it.
    proxy.refuse(false);
    const read = await c.range("k", { serializable: true });
    expect(read.revision).toBeGreaterThanOrEqual(seen);
    expect(read.kvs[0]?.text()).toBe("on");
  });

  it("with it, a read answered by the lagging member is retried on a member new enough", async () => {
    const proxy = await leaderProxy();
    const c = env.client({
      ...QUICK,
      endpoints: [proxy.url, lagging.clientUrl, follower.clientUrl],
      monotonicReads: true,
    });
    const { revision: seen } = await c.put("k", "retried");
    await until("the follower to apply the write", async () => (await revisionOf(follower)) >= seen);
    loseLeader(proxy);
    const seenEvents = recorder();

    // The leader is gone: the pin moves to the lagging member, whose answer is refused; the follower answers.
    const read = await c.range("k", { serializable: true });
    expect(read.revision).toBeGreaterThanOrEqual(seen);
    expect(read.kvs[0]?.text()).toBe("retried");
    const attempts = seenEvents
      .of("etcd-ts:call:start", (e) => e.rpcMethod === "Range")
      .map((e) => [e.endpoint, e.attempt]);
    expect(attempts).toEqual([
      [proxy.url, 1],
      [lagging.clientUrl, 2],
      [follower.clientUrl, 3],
    ]);
    const [stale] = seenEvents.of("etcd-ts:call:error", (e) => e.endpoint === lagging.clientUrl);
    expect(stale?.error).toBeInstanceOf(StaleReadError);
    expect(
      seenEvents.of("etcd-ts:call:end", (e) => e.service === "etcdserverpb.KV").map((e) => e.endpoint),
    ).toEqual([follower.clientUrl]);

    // The lagging member stays marked failed: the next reads go to the follower, none below what was seen.
    for (let i = 0; i < 3; i++) {
      const again = await c.range("k", { serializable: true });
      expect(again.revision).toBeGreaterThanOrEqual(read.revision);
    }
  });

  it("takes only a boolean, checked before anything is sent", () => {
    for (const bad of ["yes", 1, null, {}])
      expect(() => new Etcd({ endpoints: leader.clientUrl, monotonicReads: bad as never })).toThrow(
        expect.objectContaining({ constructor: InvalidArgumentError, field: "monotonicReads" }),
      );
  });
});
