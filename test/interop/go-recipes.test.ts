// Go's experimental/recipes (go.etcd.io/etcd/client/v3/experimental/recipes, through the Go program of
// test/interop/go) beside etcd-ts' recipes on one etcd: the same keys, so a Go writer and an etcd-ts
// reader share one RWMutex, a queue filled by Go drains in order in etcd-ts (and the other way), a
// priority queue likewise, and a double barrier is entered and left from both languages.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DoubleBarrier, type Etcd, PriorityQueue, Queue, RWMutex, Session } from "../../src/index.js";
import { useEtcd } from "../support/etcd-fixture.js";
import { until, within } from "../support/wait.js";
import { buildGoProgram } from "./go-build.js";
import { GoProgram } from "./go-program.js";

const env = useEtcd();
let etcd: Etcd;
let go: GoProgram;
const sessions: Session[] = [];

beforeAll(async () => {
  const binary = await buildGoProgram();
  etcd = env.client();
  go = await GoProgram.start(binary, { endpoints: env.cluster.endpoints });
}, 15 * 60_000); // a cold `go build` on a busy 2-core machine; cached afterwards
afterAll(async () => {
  for (const s of sessions) await s.close();
  await go?.close();
});

let serial = 0;
function unique(base: string): string {
  return `${base}-${++serial}`;
}

async function session(): Promise<Session> {
  const s = await Session.create(etcd, { ttl: 10 });
  sessions.push(s);
  return s;
}

async function keys(prefix: string): Promise<string[]> {
  return (await etcd.range({ prefix }, { sort: { target: "create", order: "ascend" } })).kvs.map((kv) =>
    kv.keyText(),
  );
}

async function waitForKeys(prefix: string, n: number): Promise<void> {
  await until(`${n} keys under ${prefix}`, async () => (await keys(prefix)).length >= n);
}

describe("Go's experimental/recipes beside etcd-ts", () => {
  it("RWMutex: a Go writer and etcd-ts readers on one lock, in Go's read/ and write/ keys", async () => {
    const name = unique("rw");
    const log: string[] = [];
    const r1 = new RWMutex(await session(), name);
    await r1.rLock();
    // Go's writer waits for the etcd-ts reader...
    const writer = unique("h");
    const goWriter = go.send("rw-lock", { handle: writer, name, value: "write" });
    await waitForKeys(`${name}/write/`, 1);
    const [goKey] = await keys(`${name}/write/`);
    expect(goKey).toMatch(/^rw-\d+\/write\/\d+$/);
    // ...and an etcd-ts reader after the waiting Go writer waits for it (Go's rule, kept by etcd-ts).
    const r2 = new RWMutex(await session(), name);
    const r2Locked = r2.rLock().then(() => log.push("ts reader"));
    await waitForKeys(`${name}/read/`, 2);
    expect(goWriter.settled()).toBe(false);
    log.push("r1 unlock");
    await r1.rUnlock();
    await within(goWriter.result, "Go's writer once the etcd-ts reader left");
    log.push("go writer");
    expect(log).toEqual(["r1 unlock", "go writer"]);
    await go.request("rw-unlock", { handle: writer });
    await within(r2Locked, "the etcd-ts reader once Go's writer left");
    expect(log).toEqual(["r1 unlock", "go writer", "ts reader"]);
    // Now a Go reader shares the lock with the etcd-ts one, and a Go writer waits for both.
    const goReader = unique("h");
    await go.request("rw-lock", { handle: goReader, name, value: "read" });
    const goWriter2 = unique("h");
    const writing = go.send("rw-lock", { handle: goWriter2, name, value: "write" });
    await waitForKeys(`${name}/write/`, 1);
    await go.request("rw-unlock", { handle: goReader });
    expect(writing.settled()).toBe(false);
    await r2.rUnlock();
    await within(writing.result, "Go's second writer once both readers left");
    await go.request("rw-unlock", { handle: goWriter2 });
    expect(await keys(`${name}/`)).toEqual([]);
  });

  it("Queue: filled by Go, drained by etcd-ts in order; filled by etcd-ts, drained by Go in order", async () => {
    const name = unique("queue");
    for (let i = 0; i < 5; i++) await go.request("queue-enqueue", { name, value: `go-${i}` });
    const q = new Queue(etcd, name);
    const drained: string[] = [];
    for (let i = 0; i < 5; i++) drained.push(await within(q.dequeue(), "an etcd-ts dequeue"));
    expect(drained).toEqual(["go-0", "go-1", "go-2", "go-3", "go-4"]);
    // etcd-ts waits on the empty queue until Go puts an item.
    const waiting = q.dequeue();
    await go.request("queue-enqueue", { name, value: "late" });
    expect(await within(waiting, "the etcd-ts dequeue waiting for Go")).toBe("late");
    for (let i = 0; i < 3; i++) await q.enqueue(`ts-${i}`);
    const byGo: string[] = [];
    for (let i = 0; i < 3; i++)
      byGo.push((await go.request<{ value: string }>("queue-dequeue", { name })).value);
    expect(byGo).toEqual(["ts-0", "ts-1", "ts-2"]);
    expect(await keys(`${name}/`)).toEqual([]);
  });

  it("PriorityQueue: Go and etcd-ts number one queue's items together, and either drains it by priority", async () => {
    const name = unique("pq");
    const pq = new PriorityQueue(etcd, name);
    await go.request("pq-enqueue", { name, value: "go-5a", rev: 5 });
    await pq.enqueue("ts-5b", 5);
    await go.request("pq-enqueue", { name, value: "go-1", rev: 1 });
    await pq.enqueue("ts-0", 0);
    await go.request("pq-enqueue", { name, value: "go-5c", rev: 5 });
    expect(await keys(`${name}/00005/`)).toEqual([
      `${name}/00005/0000000000000000`,
      `${name}/00005/0000000000000001`,
      `${name}/00005/0000000000000002`,
    ]);
    expect(await pq.dequeue()).toBe("ts-0");
    expect((await go.request<{ value: string }>("pq-dequeue", { name })).value).toBe("go-1");
    expect(await pq.dequeue()).toBe("go-5a");
    expect((await go.request<{ value: string }>("pq-dequeue", { name })).value).toBe("ts-5b");
    expect(await pq.dequeue()).toBe("go-5c");
  });

  it("DoubleBarrier: two Go participants and one etcd-ts participant enter and leave together", async () => {
    const name = unique("double");
    const [g1, g2] = [unique("h"), unique("h")];
    const goEnter1 = go.send("dbarrier-enter", { handle: g1, name, value: "3" });
    const ts = new DoubleBarrier(await session(), name, 3);
    const log: string[] = [];
    const tsEnter = ts.enter().then(() => log.push("ts in"));
    await waitForKeys(`${name}/waiters/`, 2);
    expect(goEnter1.settled()).toBe(false);
    log.push("last enters");
    await within(go.request("dbarrier-enter", { handle: g2, name, value: "3" }), "Go's second enter");
    await within(Promise.all([goEnter1.result, tsEnter]), "the first two enters");
    expect(log).toEqual(["last enters", "ts in"]);
    expect(await keys(`${name}/ready`)).toEqual([`${name}/ready`]);

    const goLeave1 = go.send("dbarrier-leave", { handle: g1 });
    const tsLeave = ts.leave().then(() => log.push("ts out"));
    await until("a participant's key to go", async () => (await keys(`${name}/waiters/`)).length < 3);
    expect(goLeave1.settled()).toBe(false);
    log.push("last leaves");
    await within(go.request("dbarrier-leave", { handle: g2 }), "Go's second leave");
    await within(Promise.all([goLeave1.result, tsLeave]), "the first two leaves");
    expect(log.slice(2)).toEqual(["last leaves", "ts out"]);
    expect(await keys(`${name}/`)).toEqual([]);
  });
});
