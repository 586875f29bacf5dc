// Go's experimental/recipes in etcd-ts (Barrier, DoubleBarrier, Queue, PriorityQueue, RWMutex), through
// the public API against a real etcd with auth on: the clients are a user whose role covers the recipes'
// prefixes only (r/ and __r/, where PriorityQueue numbers its items), and a user without a role gets a
// typed PermissionDeniedError from every recipe. Go's own recipes on the same keys: test/interop/go-recipes.test.ts.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  AbortedError,
  Barrier,
  ClosedError,
  DeadlineExceededError,
  DoubleBarrier,
  type Etcd,
  InvalidArgumentError,
  InvalidUsageError,
  KeyExistsError,
  LockLostError,
  PermissionDeniedError,
  PriorityQueue,
  Queue,
  RWMutex,
  Session,
  TooManyClientsError,
} from "../../src/client/index.js";
import { FaultProxy } from "../../src/testing/index.js";
import { useEtcd } from "../support/etcd-fixture.js";
import { enableAuth, etcdctl } from "../support/etcdctl.js";
import { until, within } from "../support/wait.js";

const env = useEtcd();
const app = { username: "recipes", password: "recipes-secret" };
const stranger = { username: "stranger", password: "stranger-secret" };
let a: Etcd;
let b: Etcd;
let root: Etcd;
const sessions: Session[] = [];

beforeAll(async () => {
  // A user without a role: it may log in and grant leases, and touch no key.
  await etcdctl(env.cluster.endpoint, ["user", "add", `${stranger.username}:${stranger.password}`]);
  await enableAuth(env.cluster.endpoint, {
    rootPassword: "root-secret",
    role: {
      name: "recipes",
      grants: [
        ["readwrite", "r/"],
        ["readwrite", "__r/"],
      ],
      users: [app],
    },
  });
  a = env.client({ auth: app });
  b = env.client({ auth: app });
  root = env.client({ auth: { username: "root", password: "root-secret" } });
});
afterAll(async () => {
  for (const s of sessions) await s.close();
});

let serial = 0;
/** A prefix no other case uses, under the role's r/. */
function unique(base: string): string {
  return `r/${base}-${++serial}`;
}

async function session(client: Etcd = a, ttl = 10): Promise<Session> {
  const s = await Session.create(client, { ttl });
  sessions.push(s);
  return s;
}

/** A promise and whether it settled yet (it never rejects unhandled). */
function track<T>(promise: Promise<T>): { result: Promise<T>; settled: () => boolean } {
  let settled = false;
  promise.then(
    () => {
      settled = true;
    },
    () => {
      settled = true;
    },
  );
  return { result: promise, settled: () => settled };
}

/** The keys under `prefix`, in key order. */
async function keys(prefix: string): Promise<string[]> {
  return (await a.range({ prefix })).kvs.map((kv) => kv.keyText());
}

async function waitForKeys(prefix: string, n: number): Promise<void> {
  await until(`${n} keys under ${prefix}`, async () => (await keys(prefix)).length >= n);
}

describe("Barrier", () => {
  it("hold blocks wait until release; a second hold is KeyExistsError; a free barrier lets wait through", async () => {
    const key = unique("barrier");
    const holder = new Barrier(a, key);
    const waiter = new Barrier(b, key);
    await within(waiter.wait(), "wait on a free barrier");
    await holder.hold();
    expect((await a.get(key))?.text()).toBe(""); // Go's layout: the key itself, empty, no lease
    expect((await a.get(key))?.lease).toBe(0n);
    await expect(waiter.hold()).rejects.toBeInstanceOf(KeyExistsError);
    const log: string[] = [];
    const waiting = track(waiter.wait().then(() => log.push("through")));
    const other = track(new Barrier(a, key).wait().then(() => log.push("through")));
    await a.get(key); // a round trip: both waits read the key by now or soon; neither may pass
    expect(waiting.settled() || other.settled()).toBe(false);
    log.push("released");
    await holder.release();
    await within(Promise.all([waiting.result, other.result]), "both waits once released");
    expect(log).toEqual(["released", "through", "through"]);
  });

  it("a wait aborted by its signal or closed ends typed and leaves the key as it was", async () => {
    const key = unique("barrier");
    const barrier = new Barrier(a, key);
    await barrier.hold();
    const controller = new AbortController();
    const aborted = barrier.wait({ signal: controller.signal });
    controller.abort(new Error("enough"));
    await expect(aborted).rejects.toBeInstanceOf(AbortedError);
    await expect(barrier.wait({ timeoutMs: 50 })).rejects.toBeInstanceOf(DeadlineExceededError);
    const closing = barrier.wait().catch((err: unknown) => err);
    await barrier.close();
    expect(await closing).toBeInstanceOf(ClosedError);
    await expect(barrier.wait()).rejects.toBeInstanceOf(ClosedError);
    expect(await keys(key)).toEqual([key]);
    await new Barrier(a, key).release();
  });
});

describe("DoubleBarrier", () => {
  it("three participants on two clients: nobody enters until all have, nobody leaves until all have", async () => {
    const key = unique("double");
    const [s1, s2, s3] = [await session(a), await session(b), await session(b)];
    const [p1, p2, p3] = [
      new DoubleBarrier(s1, key, 3),
      new DoubleBarrier(s2, key, 3),
      new DoubleBarrier(s3, key, 3),
    ];
    const log: string[] = [];
    const e1 = track(p1.enter().then(() => log.push("in")));
    const e2 = track(p2.enter().then(() => log.push("in")));
    await waitForKeys(`${key}/waiters/`, 2);
    expect(e1.settled() || e2.settled()).toBe(false);
    log.push("third");
    await within(p3.enter(), "the third enter");
    await within(Promise.all([e1.result, e2.result]), "the first two enters");
    expect(log).toEqual(["third", "in", "in"]);
    // Go's layout: <key>/waiters/<nanos> under each session's lease, and <key>/ready.
    const waiters = (await a.range({ prefix: `${key}/waiters/` })).kvs;
    expect(waiters.map((kv) => kv.keyText()).every((k) => /^r\/double-\d+\/waiters\/\d{19}$/.test(k))).toBe(
      true,
    );
    expect(new Set(waiters.map((kv) => kv.lease))).toEqual(new Set([s1.leaseId, s2.leaseId, s3.leaseId]));
    expect(await a.get(`${key}/ready`)).toBeDefined();
    expect(p1.participantKey).toMatch(/\/waiters\//);
    // A fourth is one too many, and leaves no key behind.
    await expect(new DoubleBarrier(await session(a), key, 3).enter()).rejects.toBeInstanceOf(
      TooManyClientsError,
    );
    expect((await keys(`${key}/waiters/`)).length).toBe(3);

    const out: string[] = [];
    const l1 = track(p1.leave().then(() => out.push("out")));
    const l2 = track(p2.leave().then(() => out.push("out")));
    // Someone among the first two is not the lowest and deletes its key before waiting.
    await until("a participant's key to go", async () => (await keys(`${key}/waiters/`)).length < 3);
    expect(l1.settled() || l2.settled()).toBe(false);
    out.push("third");
    await within(p3.leave(), "the third leave");
    await within(Promise.all([l1.result, l2.result]), "the first two leaves");
    expect(out.slice(0, 1)).toEqual(["third"]);
    expect(await keys(`${key}/`)).toEqual([]);
  });

  it("an enter aborted, timed out or closed deletes its participant key", async () => {
    const key = unique("double");
    const barrier = new DoubleBarrier(await session(), key, 2);
    const controller = new AbortController();
    const entering = barrier.enter({ signal: controller.signal });
    await waitForKeys(`${key}/waiters/`, 1);
    controller.abort();
    await expect(entering).rejects.toBeInstanceOf(AbortedError);
    expect(await keys(`${key}/`)).toEqual([]);
    await expect(barrier.enter({ timeoutMs: 100 })).rejects.toBeInstanceOf(DeadlineExceededError);
    expect(await keys(`${key}/`)).toEqual([]);
    const closing = barrier.enter().catch((err: unknown) => err);
    await waitForKeys(`${key}/waiters/`, 1);
    await barrier.close();
    expect(await closing).toBeInstanceOf(ClosedError);
    expect(await keys(`${key}/`)).toEqual([]);
    await expect(barrier.leave()).rejects.toBeInstanceOf(ClosedError);
  });

  it("leave before enter is InvalidUsageError", async () => {
    await expect(new DoubleBarrier(await session(), unique("double"), 2).leave()).rejects.toBeInstanceOf(
      InvalidUsageError,
    );
  });
});

describe("Queue", () => {
  it("FIFO across clients; a dequeue on an empty queue waits for the next enqueue", async () => {
    const prefix = unique("queue");
    const qa = new Queue(a, prefix);
    const qb = new Queue(b, prefix);
    for (let i = 0; i < 6; i++) await (i % 2 ? qb : qa).enqueue(`item-${i}`);
    const items = await keys(`${prefix}/`);
    expect(items.every((k) => /^r\/queue-\d+\/\d{19}$/.test(k))).toBe(true); // <prefix>/<unix nanos>
    const out: string[] = [];
    for (let i = 0; i < 6; i++) out.push(await (i % 2 ? qa : qb).dequeue());
    expect(out).toEqual(["item-0", "item-1", "item-2", "item-3", "item-4", "item-5"]);
    const waiting = track(qb.dequeue());
    await a.get(prefix);
    expect(waiting.settled()).toBe(false);
    await qa.enqueue("late");
    expect(await within(waiting.result, "the dequeue waiting for an item")).toBe("late");
    expect(await keys(`${prefix}/`)).toEqual([]);
  });

  it("concurrent dequeuers on two clients each get a different item", async () => {
    const prefix = unique("queue");
    const takers = [new Queue(a, prefix), new Queue(b, prefix), new Queue(a, prefix), new Queue(b, prefix)];
    const taking = takers.map((q) => q.dequeue());
    const producer = new Queue(a, prefix);
    for (let i = 0; i < 4; i++) await producer.enqueue(`job-${i}`);
    const got = await within(Promise.all(taking), "four dequeues");
    expect(got.sort()).toEqual(["job-0", "job-1", "job-2", "job-3"]);
  });

  it("a dequeue aborted or closed takes nothing: the next item goes to the next dequeue", async () => {
    const prefix = unique("queue");
    const q = new Queue(a, prefix);
    const controller = new AbortController();
    const aborted = q.dequeue({ signal: controller.signal });
    controller.abort();
    await expect(aborted).rejects.toBeInstanceOf(AbortedError);
    await expect(q.dequeue({ timeoutMs: 50 })).rejects.toBeInstanceOf(DeadlineExceededError);
    const closed = new Queue(a, prefix);
    const closing = closed.dequeue().catch((err: unknown) => err);
    await closed.close();
    expect(await closing).toBeInstanceOf(ClosedError);
    await q.enqueue("kept");
    expect(await keys(`${prefix}/`)).toHaveLength(1);
    expect(await new Queue(b, prefix).dequeue()).toBe("kept");
  });
});

describe("PriorityQueue", () => {
  it("smaller priority first, then in order, across clients, in Go's key layout", async () => {
    const prefix = unique("pq");
    const pa = new PriorityQueue(a, prefix);
    const pb = new PriorityQueue(b, prefix);
    await pa.enqueue("a5", 5);
    await pb.enqueue("b1", 1);
    await pa.enqueue("c5", 5);
    expect(await pb.enqueue("d0", 0)).toBe(`${prefix}/00000/0000000000000000`);
    await pb.enqueue("e65535", 65535);
    expect(await keys(`${prefix}/`)).toEqual([
      `${prefix}/00000/0000000000000000`,
      `${prefix}/00001/0000000000000000`,
      `${prefix}/00005/0000000000000000`,
      `${prefix}/00005/0000000000000001`,
      `${prefix}/65535/0000000000000000`,
    ]);
    const out: string[] = [];
    for (let i = 0; i < 5; i++) out.push(await (i % 2 ? pa : pb).dequeue());
    expect(out).toEqual(["d0", "b1", "a5", "c5", "e65535"]);
    const waiting = pa.dequeue();
    await pb.enqueue("late", 7);
    expect(await within(waiting, "the dequeue waiting for an item")).toBe("late");
  });
});

describe("RWMutex", () => {
  it("readers share; a writer waits for them and excludes the readers and writers behind it", async () => {
    const prefix = unique("rw");
    const [r1, r2, w1, r3, w2] = [
      new RWMutex(await session(a), prefix),
      new RWMutex(await session(b), prefix),
      new RWMutex(await session(a), prefix),
      new RWMutex(await session(b), prefix),
      new RWMutex(await session(a), prefix),
    ];
    await within(r1.rLock(), "first reader");
    await within(r2.rLock(), "second reader beside the first");
    expect([r1.state, r2.state, r1.mode]).toEqual(["locked", "locked", "read"]);
    expect(r1.key).toMatch(/^r\/rw-\d+\/read\/\d{19}$/);
    const log: string[] = [];
    const w1Locked = w1.lock().then(() => log.push("w1"));
    await waitForKeys(`${prefix}/write/`, 1);
    expect(w1.key).toMatch(/^r\/rw-\d+\/write\/\d{19}$/);
    // A reader after a waiting writer waits for it (Go: writers are not starved)...
    const r3Locked = r3.rLock().then(() => log.push("r3"));
    await waitForKeys(`${prefix}/read/`, 3);
    // ...and so does a later writer.
    const w2Locked = w2.lock().then(() => log.push("w2"));
    await waitForKeys(`${prefix}/write/`, 2);
    log.push("r1 unlock");
    await r1.rUnlock();
    log.push("r2 unlock");
    await r2.rUnlock();
    await within(w1Locked, "the writer once the readers left");
    expect(w1.mode).toBe("write");
    log.push("w1 unlock");
    await w1.unlock();
    await within(r3Locked, "the reader behind the writer");
    log.push("r3 unlock");
    await r3.rUnlock();
    await within(w2Locked, "the second writer");
    await w2.unlock();
    expect(log).toEqual(["r1 unlock", "r2 unlock", "w1", "w1 unlock", "r3", "r3 unlock", "w2"]);
    expect(await keys(`${prefix}/`)).toEqual([]);
  });

  it("a wait aborted, timed out or closed deletes its key; a held lock ends with LockLostError when its lease goes", async () => {
    const prefix = unique("rw");
    const writer = new RWMutex(await session(a), prefix);
    await writer.lock();
    const reader = new RWMutex(await session(b), prefix);
    const controller = new AbortController();
    const aborted = reader.rLock({ signal: controller.signal });
    await waitForKeys(`${prefix}/read/`, 1);
    controller.abort();
    await expect(aborted).rejects.toBeInstanceOf(AbortedError);
    expect(await keys(`${prefix}/read/`)).toEqual([]);
    await expect(reader.lock({ timeoutMs: 100 })).rejects.toBeInstanceOf(DeadlineExceededError);
    expect(await keys(`${prefix}/`)).toEqual([writer.key]);
    const closing = reader.rLock().catch((err: unknown) => err);
    await waitForKeys(`${prefix}/read/`, 1);
    await reader.close();
    expect(await closing).toBeInstanceOf(ClosedError);
    expect(await keys(`${prefix}/`)).toEqual([writer.key]);
    expect(reader.state).toBe("unlocked");

    await expect(writer.lock()).rejects.toBeInstanceOf(InvalidUsageError); // one hold per object
    await root.lease.revoke(writer.session.leaseId);
    expect(await within(writer.closed, "the writer's loss")).toBeInstanceOf(LockLostError);
    expect(writer.state).toBe("lost");
    await writer.unlock().catch(() => {});
    expect(writer.state).toBe("unlocked");
  });
});

describe("RWMutex hold: the lifecycle of a Mutex's (docs/client.md, live objects)", () => {
  it("state, closed, signal and events of each hold; close() ends it cleanly and refuses new calls", async () => {
    const rw = new RWMutex(await session(), unique("rw"));
    expect(rw.state).toBe("unlocked");
    expect(() => rw.closed).toThrow(InvalidUsageError);
    const states: string[] = [];
    const closes: (Error | undefined)[] = [];
    rw.on("state", (state) => states.push(state));
    rw.on("close", (error) => closes.push(error));
    await rw.rLock();
    const hold = rw.closed;
    const signal = rw.signal;
    await rw.rUnlock();
    expect(await hold).toBeUndefined();
    expect(signal.reason).toBeInstanceOf(ClosedError);
    await rw.lock();
    const second = rw.closed;
    await rw.close();
    await rw.close();
    expect(await second).toBeUndefined();
    await until("two close events", () => closes.length === 2);
    expect(closes).toEqual([undefined, undefined]);
    expect(states).toEqual(["locking", "locked", "unlocked", "locking", "locked", "unlocked"]);
    expect(rw.key).toBe("");
    await expect(rw.rLock()).rejects.toBeInstanceOf(ClosedError);
  });
});

describe("dropped connections", () => {
  it("a dequeue and an rLock waiting through a connection that drops still get their item and their lock", async () => {
    const proxy = await FaultProxy.start(env.cluster.endpoint);
    env.cleanups.push(() => proxy.close());
    const far = env.client({ endpoints: proxy.url, auth: app });
    const prefix = unique("cut");
    const writer = new RWMutex(await session(a), `${prefix}/rw`);
    await writer.lock();
    const reader = new RWMutex(await session(far), `${prefix}/rw`);
    const reading = track(reader.rLock({ timeoutMs: 40_000 }));
    const taking = track(new Queue(far, `${prefix}/q`).dequeue({ timeoutMs: 40_000 }));
    await waitForKeys(`${prefix}/rw/read/`, 1);
    // The cut must come while the rLock waits, not while its put's answer is on the way back: a put whose
    // answer a cut loses has an unknown outcome, is not re-sent, and fails the rLock (its key deleted).
    await until("the reader's put answered", () => reader.revision !== -1n);
    proxy.cut();
    await new Queue(a, `${prefix}/q`).enqueue("after the cut");
    expect(await within(taking.result, "the dequeue through the cut")).toBe("after the cut");
    expect(reading.settled()).toBe(false);
    await writer.unlock();
    await within(reading.result, "the rLock through the cut");
    expect(reader.state).toBe("locked");
    await reader.rUnlock();
    await far.close();
  }, 60_000);
});

describe("input and permissions", () => {
  it("bad input is an InvalidArgumentError naming the field, before anything is sent", async () => {
    const s = await session();
    const field = (f: () => unknown) => {
      try {
        f();
      } catch (err) {
        expect(err).toBeInstanceOf(InvalidArgumentError);
        return (err as InvalidArgumentError).field;
      }
      throw new Error("no error");
    };
    const js = (v: unknown) => v as never;
    expect(field(() => new Barrier(js(null), "x"))).toBe("etcd");
    expect(field(() => new Barrier(a, js(undefined)))).toBe("key");
    expect(field(() => new Queue(js({}), "x"))).toBe("etcd");
    expect(field(() => new Queue(a, ""))).toBe("prefix");
    expect(field(() => new PriorityQueue(a, js(3)))).toBe("prefix");
    expect(field(() => new DoubleBarrier(js(a), "x", 2))).toBe("session");
    expect(field(() => new DoubleBarrier(s, "x", 0))).toBe("count");
    expect(field(() => new DoubleBarrier(s, "x", js("2")))).toBe("count");
    expect(field(() => new RWMutex(s, js(null)))).toBe("prefix");
    expect(field(() => new RWMutex(js(undefined), "x"))).toBe("session");
    const q = new Queue(a, unique("queue"));
    await expect(q.enqueue(js(5))).rejects.toMatchObject({ field: "value" });
    await expect(q.dequeue(js(null))).rejects.toMatchObject({ field: "options" });
    await expect(q.dequeue({ signal: js("x") })).rejects.toMatchObject({ field: "signal" });
    await expect(q.dequeue({ timeoutMs: -1 })).rejects.toMatchObject({ field: "timeoutMs" });
    const pq = new PriorityQueue(a, unique("pq"));
    for (const p of [-1, 65536, 1.5, js("1"), js(null)])
      await expect(pq.enqueue("x", p)).rejects.toMatchObject({ field: "priority" });
  });

  it("a user without rights on the prefix gets PermissionDeniedError from every recipe, and nothing is left", async () => {
    const outsider = env.client({ auth: stranger });
    const prefix = unique("denied");
    await expect(new Barrier(outsider, prefix).hold()).rejects.toBeInstanceOf(PermissionDeniedError);
    await expect(new Barrier(outsider, prefix).wait()).rejects.toBeInstanceOf(PermissionDeniedError);
    await expect(new Queue(outsider, prefix).enqueue("x")).rejects.toBeInstanceOf(PermissionDeniedError);
    await expect(new Queue(outsider, prefix).dequeue()).rejects.toBeInstanceOf(PermissionDeniedError);
    await expect(new PriorityQueue(outsider, prefix).enqueue("x", 1)).rejects.toBeInstanceOf(
      PermissionDeniedError,
    );
    await expect(new PriorityQueue(outsider, prefix).dequeue()).rejects.toBeInstanceOf(PermissionDeniedError);
    const s = await session(outsider);
    await expect(new RWMutex(s, prefix).lock()).rejects.toBeInstanceOf(PermissionDeniedError);
    await expect(new RWMutex(s, prefix).rLock()).rejects.toBeInstanceOf(PermissionDeniedError);
    await expect(new DoubleBarrier(s, prefix, 2).enter()).rejects.toBeInstanceOf(PermissionDeniedError);
    expect(await keys(`${prefix}`)).toEqual([]);
  });
});
