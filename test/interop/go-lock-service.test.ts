// etcd's server-side Lock and Election services, used through etcd-ts (`etcd.lockService`,
// `etcd.electionService`, default transport), beside Go's client-side `concurrency.Mutex` and
// `concurrency.Election` (test/interop/go) on the same names: the member runs Go's concurrency code with
// Go's keys, so the two must exclude each other and see one leader. Every etcd line of the matrix (the
// member's Go concurrency code differs between lines).
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Etcd, type Lease } from "../../src/index.js";
import { type EtcdCluster, startEtcd } from "../../src/testing/index.js";
import { until, within } from "../support/wait.js";
import { buildGoProgram } from "./go-build.js";
import { GoProgram } from "./go-program.js";

let binary: string;
let cluster: EtcdCluster;
let etcd: Etcd;
let go: GoProgram;
const leases: Lease[] = [];

beforeAll(async () => {
  binary = await buildGoProgram();
  cluster = await startEtcd();
  etcd = new Etcd({ endpoints: cluster.endpoints });
  go = await GoProgram.start(binary, { endpoints: cluster.endpoints });
}, 15 * 60_000); // a cold `go build` on a busy 2-core machine; cached afterwards
afterAll(async () => {
  for (const l of leases) await l.revoke().catch(() => undefined);
  await go?.close();
  await etcd?.close();
  await cluster?.close();
});

async function lease(): Promise<Lease> {
  const l = await etcd.lease.grant(10);
  leases.push(l);
  return l;
}

const text = (bytes: Uint8Array) => new TextDecoder().decode(bytes);

/** Keys under `prefix` in create order (a lock's or an election's queue). */
async function queue(prefix: string): Promise<string[]> {
  const { kvs } = await etcd.range({ prefix }, { sort: { target: "create", order: "ascend" } });
  return kvs.map((kv) => kv.keyText());
}

describe("etcd's Lock service (etcd-ts) and Go's concurrency.Mutex on one name", () => {
  it("exclude each other, in one queue of Go's keys", async () => {
    const name = "svc-locks/job";
    const l = await lease();
    const tsKey = `${name}/${l.id.toString(16)}`;

    const held = await etcd.lockService.lock(name, { lease: l });
    expect(text(held.key)).toBe(tsKey);
    const goLock = go.send<{ key: string; lease: string }>("lock", { handle: "go-1", name });
    await until("Go's waiter key behind the service's", async () => (await queue(`${name}/`)).length === 2);
    expect((await queue(`${name}/`))[0]).toBe(tsKey);
    expect(goLock.settled()).toBe(false); // the service's lock is held

    await etcd.lockService.unlock(held.key);
    const goHeld = await within(goLock.result, "Go's lock once the service's was released");
    expect(goHeld.key).toBe(`${name}/${goHeld.lease}`);

    // Now Go holds: the service's lock waits for Go's Unlock.
    let tsLocked = false;
    const locking = etcd.lockService.lock(name, { lease: l, timeoutMs: 60_000 }).then((r) => {
      tsLocked = true;
      return r;
    });
    await until("the service's waiter key behind Go's", async () => (await queue(`${name}/`)).length === 2);
    expect(await queue(`${name}/`)).toEqual([goHeld.key, tsKey]);
    expect(tsLocked).toBe(false); // Go holds the lock

    await go.request("unlock", { handle: "go-1" });
    const again = await within(locking, "the service's lock once Go unlocked");
    expect(text(again.key)).toBe(tsKey);
    expect(await etcd.get(goHeld.key, { revision: again.revision })).toBeUndefined();
    await etcd.lockService.unlock(again.key);
    expect(await queue(`${name}/`)).toEqual([]);
  });
});

describe("etcd's Election service (etcd-ts) and Go's concurrency.Election on one name", () => {
  it("Go sees the service's leader and proclamations; the service sees Go's leader", async () => {
    const name = "svc-elect/primary";
    const l = await lease();
    expect(await go.request("leader", { name })).toEqual({ none: true });

    const won = await etcd.electionService.campaign(name, "ts-1", { lease: l });
    expect(await go.request("leader", { name })).toEqual({
      key: text(won.key),
      value: "ts-1",
      createRevision: Number(won.revision),
    });
    // Go's Observe follows the service's proclamations in order, the current leader first.
    const goObserved = go.send<{ seen: { key: string; value: string }[] }>("observe-until", {
      name,
      value: "ts-3",
    });
    await etcd.electionService.proclaim(won, "ts-2");
    await etcd.electionService.proclaim(won, "ts-3");
    const seen = (await within(goObserved.result, "Go's observation of ts-3")).seen;
    expect(seen.every((s) => s.key === text(won.key))).toBe(true);
    const values = seen.map((s) => s.value);
    expect(values.at(-1)).toBe("ts-3");
    // Go's observer starts with the leader of the moment it starts (ts-1, ts-2 or ts-3), then follows
    // every proclamation: never a gap, never out of order.
    expect([["ts-1", "ts-2", "ts-3"], ["ts-2", "ts-3"], ["ts-3"]]).toContainEqual(values);

    const observed = etcd.electionService.observe(name);
    expect((await within(observed.next(), "etcd-ts' first observation")).value?.text()).toBe("ts-3");
    const goCampaign = go.send<{ key: string; revision: number }>("campaign", {
      handle: "go-e",
      name,
      value: "go-1",
    });
    await until(
      "Go's candidate key behind the service's",
      async () => (await queue(`${name}/`)).length === 2,
    );
    expect(goCampaign.settled()).toBe(false); // the service's leadership holds

    await etcd.electionService.resign(won);
    const goWon = await within(goCampaign.result, "Go elected once the service's leader resigned");
    const leader = await etcd.electionService.leader(name);
    expect([leader?.keyText(), leader?.text(), leader?.createRevision]).toEqual([
      goWon.key,
      "go-1",
      BigInt(goWon.revision),
    ]);
    const next = (await within(observed.next(), "etcd-ts' observation of Go's leader")).value;
    expect([next?.keyText(), next?.text()]).toEqual([goWon.key, "go-1"]);
    await observed.return();
    await go.request("resign", { handle: "go-e" });
    expect(await etcd.electionService.leader(name)).toBeUndefined();
  });
});
