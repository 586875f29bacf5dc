import { describe, expect, it } from "vitest";
import { runCli, stderrOf, useEtcd } from "./support.js";

const bed = useEtcd();
const start = (args: string[]) => bed.start(args);

/** The keys under `prefix/`, oldest first (Go's lock and election layout). */
async function candidates(prefix: string): Promise<string[]> {
  const r = await bed.etcd.range({ prefix: `${prefix}/` }, { sort: { target: "create", order: "ascend" } });
  return r.kvs.map((kv) => kv.keyText());
}

describe("etcd-ts lock", { timeout: 120_000 }, () => {
  it("holds the lock until SIGINT; a second locker waits, then gets it; the key is gone after", async () => {
    const first = start(["lock", "jobs"]);
    const firstKey = await first.waitForLine("the first lock key", (line) => line.startsWith("jobs/"));
    expect(await candidates("jobs")).toEqual([firstKey]);
    // Its key is attached to a lease in hex, as Go names it.
    expect(firstKey).toMatch(/^jobs\/[0-9a-f]+$/);

    const second = start(["lock", "jobs", "--json"]);
    await second.until(
      "the second locker's waiting key",
      async () => (await candidates("jobs")).length === 2,
    );
    expect(second.lines).toEqual([]); // queued behind the first, holding nothing
    first.signal("SIGINT");
    expect(await first.waitForExit("the first holder to release")).toEqual({ code: 0, signal: null });
    const got = JSON.parse(await second.waitForLine("the second to get the lock", () => true)) as {
      name: string;
      key: string;
      revision: string;
    };
    expect(got.name).toBe("jobs");
    expect(await candidates("jobs")).toEqual([got.key]);
    second.signal("SIGTERM");
    expect(await second.waitForExit("the second holder to release")).toEqual({ code: 0, signal: null });
    expect(await candidates("jobs")).toEqual([]);
  });

  it("runs a command while holding the lock, with ETCD_LOCK_KEY and ETCD_LOCK_REV, and exits with its code", async () => {
    const script =
      "console.log(process.env.ETCD_LOCK_KEY + ' ' + process.env.ETCD_LOCK_REV); process.exit(3)";
    const r = await runCli([...bed.ep, "lock", "deploy", "--", process.execPath, "-e", script]);
    expect(r.code).toBe(3);
    const [key, revision] = r.stdout.trim().split(" ");
    expect(key).toMatch(/^deploy\/[0-9a-f]+$/);
    expect(BigInt(revision!)).toBeGreaterThan(0n);
    expect(await candidates("deploy")).toEqual([]); // released after the command
    // Options after the lock name's command belong to the command.
    const echoed = await runCli([...bed.ep, "lock", "deploy", "sh", "-c", 'echo "$1"', "sh", "--json"]);
    expect(echoed).toMatchObject({ code: 0, stdout: "--json\n" });
  });
  it("a lock lost while held (its lease revoked) stops the command with SIGTERM and exits with 1", async () => {
    // The command prints when it starts and when SIGTERM reaches it. Its handler is in place before it
    // says it started: the test revokes the lease on "started", and a SIGTERM that came between the two
    // would kill it silently (the default action) on a busy machine.
    const script =
      "process.on('SIGTERM', () => { console.log('terminated'); process.exit(0); }); console.log('started'); setInterval(() => {}, 1000);";
    const c = start(["lock", "guarded", process.execPath, "-e", script]);
    await c.waitForLine("the command to start under the lock", (line) => line === "started");
    const [key] = await candidates("guarded");
    await bed.etcd.lease.revoke(BigInt(`0x${key!.split("/")[1]}`));
    await c.waitForLine("the command to get SIGTERM", (line) => line === "terminated");
    const exit = await c.waitForExit("the lock to fail once lost");
    expect(exit.code).toBe(1);
    expect(stderrOf(c)).toMatch(/^etcd-ts: guarded\/[0-9a-f]+: /);
  });
});

describe("etcd-ts elect", { timeout: 120_000 }, () => {
  it("leads until SIGTERM, then the next candidate leads; --listen prints each leader", async () => {
    const alice = start(["elect", "scheduler", "alice"]);
    const aliceKey = await alice.waitForLine("alice's leader key", (line) => line.startsWith("scheduler/"));
    await alice.waitForLine("alice's proposal", (line) => line === "alice");
    const listener = start(["elect", "--listen", "scheduler", "--json"]);
    const leaderOf = (line: string) => (JSON.parse(line) as { kv: { value: string } }).kv.value;
    await listener.waitForLine("the listener to see alice", (line) => leaderOf(line) === "alice");

    const bob = start(["elect", "scheduler", "bob"]);
    await bob.until("bob's candidacy", async () => (await candidates("scheduler")).length === 2);
    expect(bob.lines).toEqual([]); // not leading while alice does
    expect((await candidates("scheduler"))[0]).toBe(aliceKey);
    alice.signal("SIGTERM");
    expect(await alice.waitForExit("alice to resign")).toEqual({ code: 0, signal: null });
    await bob.waitForLine("bob to lead", (line) => line === "bob");
    await listener.waitForLine("the listener to see bob", (line) => leaderOf(line) === "bob");
    expect(listener.lines.map(leaderOf)).toEqual(["alice", "bob"]);

    bob.signal("SIGINT");
    expect(await bob.waitForExit("bob to resign")).toEqual({ code: 0, signal: null });
    listener.signal("SIGINT");
    expect(await listener.waitForExit("the listener to stop")).toEqual({ code: 0, signal: null });
    expect(await candidates("scheduler")).toEqual([]);
  });
});
