import { describe, expect, it } from "vitest";
import { Child } from "../support/child.js";
import { etcdctl } from "../support/etcdctl.js";
import { cliOk, runCli, useEtcd } from "./support.js";

const bed = useEtcd();

/** etcdctl (Debian's 3.4, /usr/bin/etcdctl) against the test member. */
const ctl = (args: string[]) => etcdctl(bed.cluster.endpoint, args);

/**
 * The same output with every number written as 0: for the outputs of writes, whose revisions and lease
 * IDs differ from one run to the next; the field names, their order and which are left out stay.
 */
const shape = (text: string) => text.replace(/-?\d+/g, "0");

/** How many events the `watch -w json` lines hold (one line per response, which may hold several). */
const eventsIn = (lines: readonly string[]) =>
  lines.reduce((n, line) => n + (JSON.parse(line) as { Events: unknown[] }).Events.length, 0);

/** A lease's remaining TTL, which counts down between two runs. */
const withoutRemaining = (text: string) =>
  text.replace(/"ttl":\d+/g, '"ttl":0').replace(/remaining\(\d+s\)/, "");

// etcdctl's spellings, and its JSON byte for byte: each command runs in etcdctl and in etcd-ts against
// the same member. Reads run with no write in between, so their outputs must be equal, header included.
describe("etcd-ts speaks etcdctl: -w json, --write-out, --print-value-only, lease timetolive", {
  timeout: 120_000,
}, () => {
  it("get -w json / --write-out=json prints etcdctl's RangeResponse, header and base64 included", async () => {
    await bed.etcd.put("cmp/a", "1");
    await bed.etcd.put("cmp/b", "two words");
    await bed.etcd.put("cmp/c", Uint8Array.of(0, 255));
    for (const args of [
      ["get", "cmp/a", "-w", "json"],
      ["get", "cmp/", "--prefix", "--write-out=json"],
      ["get", "cmp/", "--prefix", "--keys-only", "-w", "json"],
      ["get", "cmp/none", "-w", "json"],
    ]) {
      const theirs = await ctl(args);
      expect(await cliOk([...bed.ep, ...args]), args.join(" ")).toBe(theirs);
    }
    // Integers are JSON numbers, as Go writes them, even past 2^53 (cluster and member IDs).
    const out = await cliOk([...bed.ep, "get", "cmp/a", "-w", "json"]);
    expect(out).toMatch(
      /^\{"header":\{"cluster_id":\d+,"member_id":\d+,"revision":\d+,"raft_term":\d+\},"kvs":\[/,
    );
  });

  it("-w simple and --print-value-only print what etcdctl prints", async () => {
    await bed.etcd.put("cmp/v", "value only");
    for (const args of [
      ["get", "cmp/v", "-w", "simple"],
      ["get", "cmp/v", "--print-value-only"],
      ["get", "cmp/", "--prefix", "--print-value-only", "--write-out=simple"],
    ]) {
      expect(await cliOk([...bed.ep, ...args]), args.join(" ")).toBe(await ctl(args));
    }
  });

  it("put, del and lease grant/revoke -w json have etcdctl's shape", async () => {
    // Each pair starts from the same state: etcdctl's run, then etcd-ts' run.
    const cases: [string[], () => Promise<unknown>][] = [
      [["put", "cmp/w", "1", "-w", "json"], () => bed.etcd.delete("cmp/w")],
      [["put", "cmp/w", "2", "--prev-kv", "-w", "json"], () => bed.etcd.put("cmp/w", "1")],
      [["del", "cmp/w", "--prev-kv", "-w", "json"], () => bed.etcd.put("cmp/w", "1")],
      [["del", "cmp/none", "-w", "json"], async () => {}],
      [["lease", "grant", "60", "-w", "json"], async () => {}],
    ];
    for (const [args, setUp] of cases) {
      await setUp();
      const theirs = await ctl(args);
      await setUp();
      const ours = await cliOk([...bed.ep, ...args]);
      expect(shape(ours), args.join(" ")).toBe(shape(theirs));
    }
    const ids = await Promise.all([
      bed.etcd.lease.grant(60, { keepAlive: false }),
      bed.etcd.lease.grant(60, { keepAlive: false }),
    ]);
    const theirs = await ctl(["lease", "revoke", ids[0]!.id.toString(16), "-w", "json"]);
    const ours = await cliOk([...bed.ep, "lease", "revoke", ids[1]!.id.toString(16), "-w", "json"]);
    expect(shape(ours)).toBe(shape(theirs));
  });

  it("lease timetolive (etcdctl's name for lease ttl), lease list and keep-alive --once: etcdctl's output", async () => {
    // An ID shorter than 16 hex digits: etcdctl prints lease IDs zero-padded (%016x).
    const lease = await bed.etcd.lease.grant(600, { keepAlive: false, id: 0xa42a24dfb82852en });
    await bed.etcd.put("cmp/leased", "x", { lease: lease.id });
    const hex = lease.id.toString(16);
    for (const args of [
      ["lease", "timetolive", hex],
      ["lease", "timetolive", hex, "--keys"],
      ["lease", "timetolive", hex, "-w", "json"],
      ["lease", "timetolive", hex, "--keys", "-w", "json"],
    ]) {
      const theirs = await ctl(args);
      expect(withoutRemaining(await cliOk([...bed.ep, ...args])), args.join(" ")).toBe(
        withoutRemaining(theirs),
      );
    }
    expect(await cliOk([...bed.ep, "lease", "list", "-w", "json"])).toBe(
      await ctl(["lease", "list", "-w", "json"]),
    );
    const keepAlive = ["lease", "keep-alive", "--once", hex, "-w", "json"];
    expect(shape(await cliOk([...bed.ep, ...keepAlive]))).toBe(shape(await ctl(keepAlive)));
    await bed.etcd.lease.revoke(lease.id);
    const gone = ["lease", "timetolive", hex, "-w", "json"];
    expect(await cliOk([...bed.ep, ...gone])).toBe(await ctl(gone));
  });

  it("member list, endpoint status and endpoint health -w json have etcdctl's shape", async () => {
    expect(await cliOk([...bed.ep, "member", "list", "-w", "json"])).toBe(
      await ctl(["member", "list", "-w", "json"]),
    );
    for (const args of [
      ["endpoint", "status", "-w", "json"],
      ["endpoint", "health", "-w", "json"],
    ]) {
      // health's took: Go writes "1.722044ms", etcd-ts "1.7ms": both a number of ms.
      const ours = shape(await cliOk([...bed.ep, ...args])).replace(/"took":"[\d.]+ms"/, "");
      const theirs = shape(await ctl(args)).replace(/"took":"[\d.]+ms"/, "");
      expect(ours, args.join(" ")).toBe(theirs);
    }
  });

  it("member add and remove -w json print etcdctl's MemberAddResponse and MemberRemoveResponse", async () => {
    // A learner each (a voting member that never starts would take the quorum away), in turn, so each
    // side sees the same cluster: the member alone, then it and the one learner.
    const idOf = (out: string) => BigInt(/"member":\{"ID":(\d+)/.exec(out)![1]!).toString(16);
    const addArgs = (name: string, port: number) => [
      "member",
      "add",
      name,
      "--learner",
      `--peer-urls=http://127.0.0.1:${port}`,
      "-w",
      "json",
    ];
    const theirsAdd = await ctl(addArgs("m-theirs", 1));
    const theirsRemove = await ctl(["member", "remove", idOf(theirsAdd), "-w", "json"]);
    const oursAdd = await cliOk([...bed.ep, ...addArgs("m-ours", 2)]);
    const oursRemove = await cliOk([...bed.ep, "member", "remove", idOf(oursAdd), "-w", "json"]);
    expect(oursAdd).toMatch(
      /^\{"header":\{"cluster_id":\d+,"member_id":\d+,"raft_term":\d+\},"member":\{"ID":\d+,"peerURLs":\["http:\/\/127\.0\.0\.1:2"\],"isLearner":true\},"members":\[/,
    );
    // etcd lists members in ID order, and IDs are random: compare the shapes as sets of members.
    const members = (text: string) => {
      const doc = JSON.parse(shape(text)) as { members: unknown[] };
      return JSON.stringify({ ...doc, members: doc.members.map((m) => JSON.stringify(m)).sort() });
    };
    expect(members(oursAdd)).toBe(members(theirsAdd));
    expect(members(oursRemove)).toBe(members(theirsRemove));
  });

  it("watch -w json prints etcdctl's WatchResponse per batch, events and prev_kv included", async () => {
    const from = (await bed.etcd.put("cmp/watch/1", "a")).revision;
    await bed.etcd.put("cmp/watch/1", "b");
    await bed.etcd.delete("cmp/watch/1");
    const args = ["watch", "cmp/watch/", "--prefix", "--rev", String(from), "--prev-kv", "-w", "json"];
    const ours = bed.start(args);
    await ours.until("three events", () => eventsIn(ours.lines) >= 3);
    // etcdctl's watch runs until killed.
    const theirs = Child.spawn("etcdctl watch", "etcdctl", [`--endpoints=${bed.cluster.endpoint}`, ...args], {
      ETCDCTL_API: "3",
    });
    try {
      await theirs.until("three events from etcdctl", () => eventsIn(theirs.lines) >= 3);
    } finally {
      await theirs.kill();
    }
    // The same revisions were replayed by the same member: the same lines.
    expect(ours.lines).toEqual(theirs.lines);
  });

  it("refuses what it cannot print, in one line that says what it takes", async () => {
    const table = await runCli([...bed.ep, "get", "cmp/a", "-w", "table"]);
    expect(table.code).toBe(2);
    expect(table.stderr).toMatch(
      /^etcd-ts: --write-out "table": etcd-ts prints simple \(the default\) and json/,
    );
    const both = await runCli([...bed.ep, "get", "cmp/a", "-w", "json", "--json"]);
    expect(both.code).toBe(2);
    expect(both.stderr).toMatch(/^etcd-ts: --json and --write-out both choose the output/);
    const lock = await runCli([...bed.ep, "lock", "cmp/lock", "-w", "json"]);
    expect(lock.code).toBe(2);
    expect(lock.stderr).toMatch(
      /^etcd-ts: lock: -w json \(etcdctl's JSON\) is not available for this command; --json/,
    );
  });
});
