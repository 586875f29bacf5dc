// etcd's server-side Lock and Election services through `etcd.lockService` and `etcd.electionService`,
// against a real etcd (every line of the matrix: the services are the same since 3.2, the server's Go
// concurrency code under them is not).
import { Code } from "@connectrpc/connect";
import { beforeAll, describe, expect, it } from "vitest";
import {
  AbortedError,
  ClientClosedError,
  DeadlineExceededError,
  ElectionNotLeaderError,
  type Etcd,
  type EtcdOptions,
  InvalidArgumentError,
  type KeyValue,
  type Lease,
  LeaseNotFoundError,
  PermissionDeniedError,
  UnavailableError,
} from "../../src/client/index.js";
import { createConnectNodeTransport } from "../../src/connect-node/index.js";
import { createGrpcJsTransport } from "../../src/grpc-js/index.js";
import { FaultProxy } from "../../src/testing/index.js";
import { useEtcd } from "../support/etcd-fixture.js";
import { enableAuth } from "../support/etcdctl.js";
import { until, within } from "../support/wait.js";

const env = useEtcd();
let etcd: Etcd;
let other: Etcd;

beforeAll(() => {
  etcd = env.client();
  other = env.client();
});

const text = (bytes: Uint8Array) => new TextDecoder().decode(bytes);

/** A lease kept alive by `client`, revoked after the test. */
async function lease(client: Etcd, ttl = 10): Promise<Lease> {
  const l = await client.lease.grant(ttl);
  env.cleanups.push(() => l.revoke().catch(() => undefined));
  return l;
}

/** The key Go's Mutex and Election give `lease` under `name`: `<name>/<lease hex>`. */
const keyOf = (name: string, l: Lease) => `${name}/${l.id.toString(16)}`;

/** Whether `promise` has settled (checked after the current microtasks ran). */
function settledFlag(promise: Promise<unknown>): { settled: boolean } {
  const flag = { settled: false };
  promise.then(
    () => {
      flag.settled = true;
    },
    () => {
      flag.settled = true;
    },
  );
  return flag;
}

/** Waits until the waiter `key` is on the server (the waiting call got that far). */
async function waitForKey(key: string): Promise<void> {
  await until(`key ${key}`, async () => (await etcd.get(key)) !== undefined);
}

/** Reads `observed` until it yields a value other than the ones in `skip`. */
async function nextValue(observed: AsyncIterator<KeyValue>, what: string): Promise<KeyValue> {
  const r = await within(observed.next(), what);
  if (r.done) throw new Error(`observation ended before ${what}`);
  return r.value;
}

describe("lockService", () => {
  it("excludes a second client until the holder unlocks", async () => {
    const name = "ls-excl";
    const [la, lb] = [await lease(etcd), await lease(other)];
    const held = await etcd.lockService.lock(name, { lease: la });
    expect(text(held.key)).toBe(keyOf(name, la));
    expect(held.revision).toBeGreaterThan(0n);

    const waiting = other.lockService.lock(name, { lease: lb });
    const flag = settledFlag(waiting);
    await waitForKey(keyOf(name, lb));
    // The waiter is queued behind the holder: it cannot have the lock while the holder's key exists.
    expect(flag.settled).toBe(false);
    expect(await etcd.get(held.key)).toBeDefined();

    await etcd.lockService.unlock(held.key);
    const next = await within(waiting, "the second lock after unlock");
    expect(text(next.key)).toBe(keyOf(name, lb));
    // At the revision the second client got the lock, the first one's key was gone.
    expect(await etcd.get(held.key, { revision: next.revision })).toBeUndefined();
    expect(await etcd.get(next.key, { revision: next.revision })).toBeDefined();
    await other.lockService.unlock(next.key);
    expect(await etcd.get(next.key)).toBeUndefined();
  });

  it("gives the lock to a waiter once the holder's lease is revoked", async () => {
    const name = "ls-revoke";
    const [la, lb] = [await lease(etcd), await lease(other)];
    const held = await etcd.lockService.lock(name, { lease: la.id });
    const waiting = other.lockService.lock(name, { lease: lb });
    const flag = settledFlag(waiting);
    await waitForKey(keyOf(name, lb));
    expect(flag.settled).toBe(false);

    await la.revoke();
    const next = await within(waiting, "the lock after the holder's lease was revoked");
    expect(text(next.key)).toBe(keyOf(name, lb));
    expect(await etcd.get(held.key, { revision: next.revision })).toBeUndefined();
    await other.lockService.unlock(next.key);
  });

  it("an aborted or timed-out waiter fails typed and the member deletes its key", async () => {
    const name = "ls-abort";
    const [la, lb, lc] = [await lease(etcd), await lease(other), await lease(other)];
    const held = await etcd.lockService.lock(name, { lease: la });

    const abort = new AbortController();
    const aborted = other.lockService.lock(name, { lease: lb, signal: abort.signal });
    await waitForKey(keyOf(name, lb));
    abort.abort();
    await expect(aborted).rejects.toBeInstanceOf(AbortedError);
    await until("the aborted waiter's key deleted", async () => !(await etcd.get(keyOf(name, lb))));

    const late = other.lockService.lock(name, { lease: lc, timeoutMs: 500 });
    await expect(late).rejects.toBeInstanceOf(DeadlineExceededError);
    await until("the timed-out waiter's key deleted", async () => !(await etcd.get(keyOf(name, lc))));

    // Neither left anything behind: after the unlock the lock is free at once.
    await etcd.lockService.unlock(held.key);
    const again = await other.lockService.lock(name, { lease: lb, timeoutMs: 5_000 });
    expect(text(again.key)).toBe(keyOf(name, lb));
    await other.lockService.unlock(again.key);
  });

  it("locking twice under one lease is one acquisition", async () => {
    const l = await lease(etcd);
    const first = await etcd.lockService.lock("ls-twice", { lease: l });
    const second = await within(etcd.lockService.lock("ls-twice", { lease: l }), "the second lock");
    expect(second.key).toEqual(first.key);
    await etcd.lockService.unlock(first.key);
  });

  it("refuses a lease that does not exist with LeaseNotFoundError", async () => {
    await expect(etcd.lockService.lock("ls-nolease", { lease: 0x7fff_0000_1234n })).rejects.toBeInstanceOf(
      LeaseNotFoundError,
    );
  });

  it("names and keys are namespaced on a view, like every key", async () => {
    const view = etcd.namespace("ls-ns/");
    const l = await lease(etcd);
    const held = await view.lockService.lock("lock", { lease: l });
    expect(text(held.key)).toBe(keyOf("lock", l));
    expect(await etcd.get(`ls-ns/${keyOf("lock", l)}`)).toBeDefined();
    await view.lockService.unlock(held.key);
    expect(await etcd.get(`ls-ns/${keyOf("lock", l)}`)).toBeUndefined();
  });

  it("validates its input before anything is sent", async () => {
    const l = await lease(etcd);
    const bad: [string, () => Promise<unknown>][] = [
      ["name", () => etcd.lockService.lock("", { lease: l })],
      ["name", () => etcd.lockService.lock(null as never, { lease: l })],
      ["name", () => etcd.lockService.lock(7 as never, { lease: l })],
      ["lease", () => etcd.lockService.lock("x", {} as never)],
      ["lease", () => etcd.lockService.lock("x", { lease: 0 })],
      ["lease", () => etcd.lockService.lock("x", { lease: "1" as never })],
      ["options", () => etcd.lockService.lock("x", undefined as never)],
      ["timeoutMs", () => etcd.lockService.lock("x", { lease: l, timeoutMs: -1 })],
      ["key", () => etcd.lockService.unlock(undefined as never)],
      ["key", () => etcd.lockService.unlock("")],
    ];
    for (const [field, call] of bad) {
      const error = await call().then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(error, field).toBeInstanceOf(InvalidArgumentError);
      expect((error as InvalidArgumentError).code).toBe(Code.InvalidArgument);
      expect((error as Error).message.startsWith(`${field}:`), (error as Error).message).toBe(true);
    }
  });
});

describe("electionService", () => {
  it("campaign, leader, observe, proclaim, a second campaigner, resign", async () => {
    const name = "es-flow";
    const [la, lb] = [await lease(etcd), await lease(other)];
    expect(await etcd.electionService.leader(name)).toBeUndefined();

    const observer = etcd.electionService.observe(name);
    env.cleanups.push(() => observer.return());

    const a = await etcd.electionService.campaign(name, "a1", { lease: la });
    expect(text(a.name)).toBe(name);
    expect(text(a.key)).toBe(keyOf(name, la));
    expect(a.lease).toBe(la.id);
    const leader = await etcd.electionService.leader(name);
    expect(leader?.keyText()).toBe(keyOf(name, la));
    expect(leader?.text()).toBe("a1");
    expect(leader?.createRevision).toBe(a.revision);
    expect((await nextValue(observer, "the first leader")).text()).toBe("a1");

    await etcd.electionService.proclaim(a, "a2");
    expect((await nextValue(observer, "the proclamation")).text()).toBe("a2");
    expect((await other.electionService.leader(name))?.text()).toBe("a2");

    const campaigning = other.electionService.campaign(name, "b1", { lease: lb });
    const flag = settledFlag(campaigning);
    await waitForKey(keyOf(name, lb));
    expect(flag.settled).toBe(false);

    await etcd.electionService.resign(a);
    const b = await within(campaigning, "the second campaigner elected");
    expect(text(b.key)).toBe(keyOf(name, lb));
    const seen = await nextValue(observer, "the new leader");
    expect([seen.keyText(), seen.text()]).toEqual([keyOf(name, lb), "b1"]);
    expect((await etcd.electionService.leader(name))?.text()).toBe("b1");

    // The resigned leadership can no longer proclaim; resigning it again does nothing.
    await expect(etcd.electionService.proclaim(a, "stale")).rejects.toBeInstanceOf(ElectionNotLeaderError);
    await etcd.electionService.resign(a);
    expect((await etcd.electionService.leader(name))?.text()).toBe("b1");
    await other.electionService.resign(b);
    expect(await etcd.electionService.leader(name)).toBeUndefined();
  });

  it("a leadership rebuilt from its fields (another process's) works like campaign()'s", async () => {
    const l = await lease(etcd);
    const won = await etcd.electionService.campaign("es-fields", "v1", { lease: l });
    const copy = { name: "es-fields", key: text(won.key), revision: Number(won.revision), lease: l.id };
    await other.electionService.proclaim(copy, "v2");
    expect((await etcd.electionService.leader("es-fields"))?.text()).toBe("v2");
    await other.electionService.resign(copy);
    expect(await etcd.electionService.leader("es-fields")).toBeUndefined();
  });

  it("observe: abort ends it with AbortedError; the client closing with ClientClosedError", async () => {
    const l = await lease(etcd);
    await etcd.electionService.campaign("es-stop", "x", { lease: l });
    const abort = new AbortController();
    const observed = etcd.electionService.observe("es-stop", { signal: abort.signal });
    expect((await nextValue(observed, "the leader")).text()).toBe("x");
    const pending = observed.next();
    abort.abort();
    await expect(within(pending, "the aborted observation")).rejects.toBeInstanceOf(AbortedError);

    const own = env.client();
    const closing = own.electionService.observe("es-stop");
    expect((await nextValue(closing, "the leader")).text()).toBe("x");
    const waiting = closing.next().then(
      () => undefined,
      (e: unknown) => e,
    );
    await own.close();
    expect(await within(waiting, "the observation of a closed client")).toBeInstanceOf(ClientClosedError);
  });

  it("observe: a connection lost under the stream ends the loop with UnavailableError", async () => {
    const l = await lease(etcd);
    await etcd.electionService.campaign("es-cut", "x", { lease: l });
    const proxy = await FaultProxy.start(env.cluster.endpoint);
    env.cleanups.push(() => proxy.close());
    const client = env.client({ endpoints: [proxy.url] });
    const observed = client.electionService.observe("es-cut");
    expect((await nextValue(observed, "the leader")).text()).toBe("x");
    const broken = observed.next().then(
      () => undefined,
      (e: unknown) => e,
    );
    proxy.cut();
    expect(await within(broken, "the observation over a cut connection")).toBeInstanceOf(UnavailableError);
  });

  it("validates its input before anything is sent", async () => {
    const l = await lease(etcd);
    const leader = { name: "n", key: "n/1", revision: 5n, lease: l.id };
    const bad: [string, () => Promise<unknown>][] = [
      ["name", () => etcd.electionService.campaign("", "v", { lease: l })],
      ["value", () => etcd.electionService.campaign("n", 3 as never, { lease: l })],
      ["lease", () => etcd.electionService.campaign("n", "v", {} as never)],
      ["leader", () => etcd.electionService.proclaim(null as never, "v")],
      ["leader.key", () => etcd.electionService.proclaim({ ...leader, key: "" }, "v")],
      ["leader.revision", () => etcd.electionService.proclaim({ ...leader, revision: 0 }, "v")],
      ["leader.lease", () => etcd.electionService.resign({ ...leader, lease: undefined as never })],
      ["value", () => etcd.electionService.proclaim(leader, undefined as never)],
      ["name", () => etcd.electionService.leader({} as never)],
      ["name", async () => etcd.electionService.observe("")],
      ["signal", async () => etcd.electionService.observe("n", { signal: "x" as never })],
      ["options", async () => etcd.electionService.observe("n", null as never)],
    ];
    for (const [field, call] of bad) {
      const error = await call().then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(error, field).toBeInstanceOf(InvalidArgumentError);
      expect((error as Error).message.startsWith(`${field}:`), (error as Error).message).toBe(true);
    }
  });
});

describe("every transport carries both services", () => {
  const legs: { name: string; transport: EtcdOptions["transport"] }[] = [
    { name: "grpc-js", transport: (e) => createGrpcJsTransport({ baseUrl: e.url }) },
    { name: "connect-node", transport: (e) => createConnectNodeTransport({ baseUrl: e.url }) },
  ];
  for (const leg of legs) {
    it(leg.name, async () => {
      const client = env.client({ transport: leg.transport });
      const l = await lease(etcd);
      const name = `tr-${leg.name}`;
      const held = await client.lockService.lock(name, { lease: l });
      expect(text(held.key)).toBe(keyOf(name, l));
      await client.lockService.unlock(held.key);
      const won = await client.electionService.campaign(name, "v", { lease: l });
      const observed = client.electionService.observe(name);
      expect((await nextValue(observed, "the leader")).text()).toBe("v");
      await observed.return();
      expect((await client.electionService.leader(name))?.text()).toBe("v");
      await client.electionService.resign(won);
    });
  }
});

describe("with auth on", () => {
  const ROOT_PW = "root-Secret-pw-123";
  const USER_PW = "locker-Secret-pw-456";
  let user: Etcd;
  let root: Etcd;

  beforeAll(async () => {
    await enableAuth(env.cluster.endpoint, {
      rootPassword: ROOT_PW,
      role: {
        name: "locker",
        grants: [["readwrite", "mine/"]],
        users: [{ username: "locker", password: USER_PW }],
      },
    });
    user = env.client({ auth: { username: "locker", password: USER_PW } });
    root = env.client({ auth: { username: "root", password: ROOT_PW } });
  });

  it("a user locks and campaigns on names it may write", async () => {
    const l = await user.lease.grant(10);
    env.cleanups.push(() => l.revoke().catch(() => undefined));
    const held = await user.lockService.lock("mine/lock", { lease: l });
    await user.lockService.unlock(held.key);
    const won = await user.electionService.campaign("mine/election", "v", { lease: l });
    expect((await user.electionService.leader("mine/election"))?.text()).toBe("v");
    const observed = user.electionService.observe("mine/election");
    expect((await nextValue(observed, "the leader")).text()).toBe("v");
    await observed.return();
    await user.electionService.resign(won);
  });

  it("a user without rights gets PermissionDeniedError naming the call", async () => {
    const l = await user.lease.grant(10);
    env.cleanups.push(() => l.revoke().catch(() => undefined));
    const refused = async (call: Promise<unknown>, rpc: string) => {
      const error = await call.then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(error, rpc).toBeInstanceOf(PermissionDeniedError);
      expect((error as PermissionDeniedError).rpc).toBe(rpc);
      expect((error as Error).message).toContain(rpc);
    };
    await refused(user.lockService.lock("theirs/lock", { lease: l }), "Lock/Lock");
    await refused(user.electionService.campaign("theirs/election", "v", { lease: l }), "Election/Campaign");
    const rl = await root.lease.grant(10);
    env.cleanups.push(() => rl.revoke().catch(() => undefined));
    const theirs = await root.lockService.lock("theirs/lock", { lease: rl });
    await refused(user.lockService.unlock(theirs.key), "Lock/Unlock");
    await refused(user.electionService.leader("theirs/election"), "Election/Leader");
    await refused(user.electionService.observe("theirs/election").next(), "Election/Observe");
    await root.lockService.unlock(theirs.key);
  });
});
