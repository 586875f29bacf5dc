// Go's current etcd client beside etcd-ts, on one etcd: a Go service (test/interop/go, built on
// go.etcd.io/etcd/client/v3 with naming/endpoints, naming/resolver, concurrency and namespace) and
// etcd-ts through its public API with the default transport must see each other's registrations,
// locks, leaders, namespaced keys and watch events. Run on every etcd line of the matrix, without and
// with auth.
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { delimiter, join } from "node:path";
import { createClient } from "@connectrpc/connect";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { Greeter } from "../../examples/greeter/gen/helloworld/helloworld_pb.js";
import type { GreeterServer } from "../../examples/greeter/greeter-server.js";
import { startGrpcJsGreeter } from "../../examples/greeter/grpc-js-server.js";
import { createBalancedTransport, discover, register } from "../../src/discovery/index.js";
import { createHttp2Transport, Election, Etcd, Mutex, op, Session } from "../../src/index.js";
import { type EtcdCluster, freePort, startEtcd } from "../../src/testing/index.js";
import { enableAuth } from "../support/etcdctl.js";
import { until, within } from "../support/wait.js";
import { buildGoProgram, findGo } from "./go-build.js";
import { GoProgram, type GoProgram as GoProgramType, type GoWatchEvent } from "./go-program.js";

/** The Go client version go.mod pins: the program must report it (a wrong build would not). */
const GO_CLIENT = "v3.7.4";

let binary: string;
beforeAll(async () => {
  binary = await buildGoProgram();
}, 15 * 60_000); // a cold `go build` on a busy 2-core machine; cached afterwards

/** What each case runs against. */
interface Side {
  etcd: Etcd;
  go: GoProgramType;
  /** Undone after each case, last first. */
  cleanups: (() => Promise<unknown> | unknown)[];
  /** Greeter servers of the case, stopped after Go closed its channels (see {@link tearDown}). */
  servers: GreeterServer[];
}

/**
 * After each case: its cleanups, then Go's channels, then its servers. A graceful stop waits for the
 * clients' connections to go, and grpc-go's round_robin reconnects to an address as long as its
 * channel is open, so the channels close first.
 */
async function tearDown(side: Side): Promise<void> {
  for (const c of side.cleanups.splice(0).reverse()) await within(Promise.resolve(c()), `cleanup ${c}`);
  await side.go?.request("close-channels");
  for (const server of side.servers.splice(0))
    await within(server.shutdown(), `graceful stop of the Greeter ${server.impl}@${server.addr}`);
}

let serial = 0;
/** A name no other case (or earlier run on the same etcd) uses. */
function unique(base: string): string {
  return `${base}-${++serial}`;
}

type Listed = {
  endpoints: Record<string, { addr: string; metadata: unknown; metadataType: string; hashable: boolean }>;
};

async function greeter(side: Side, impl: string): Promise<GreeterServer> {
  const server = await startGrpcJsGreeter(await freePort(), impl);
  side.servers.push(server);
  return server;
}

/** Keys under `prefix` in create order (a lock's or an election's queue). */
async function queue(etcd: Etcd, prefix: string): Promise<string[]> {
  const { kvs } = await etcd.range({ prefix }, { sort: { target: "create", order: "ascend" } });
  return kvs.map((kv) => kv.keyText());
}

function registrationCases(side: () => Side): void {
  it("etcd-ts register() → Go's Manager.List and a call through grpc-go's etcd:/// resolver", async () => {
    const { etcd, go, cleanups } = side();
    const service = unique("svc-ts");
    const a = await greeter(side(), "ts-a");
    const metadata = { impl: "ts-a", shard: 3, tags: ["x"] };
    const regA = await register(etcd, { service, addr: a.addr, ttl: 10, metadata });
    cleanups.push(() => regA.close());

    const listed = await go.request<Listed>("list-endpoints", { service });
    expect(Object.keys(listed.endpoints)).toEqual([`${service}/${a.addr}`]);
    const seen = listed.endpoints[`${service}/${a.addr}`]!;
    expect(seen.addr).toBe(a.addr);
    // The Go-safe rule: an object reaches Go as its JSON text, a string (hashable), never a map.
    expect(seen.metadataType).toBe("string");
    expect(seen.hashable).toBe(true);
    expect(JSON.parse(seen.metadata as string)).toEqual(metadata);

    const reply = await go.request<{ message: string }>("call", { service, name: "go" });
    expect(reply.message).toBe(`Hello go from ts-a@${a.addr}`);

    // The instance moves: Go's channel follows etcd (its resolver watches), no new dial target.
    const b = await greeter(side(), "ts-b");
    await regA.deregister();
    const regB = await register(etcd, { service, addr: b.addr, ttl: 10, metadata: "plain" });
    cleanups.push(() => regB.close());
    await until(`Go's etcd:///${service} channel to reach ts-b`, async () => {
      const r = await go.request<{ message: string }>("call", { service, name: "go", timeoutMs: 2000 }).catch(
        () => undefined, // UNAVAILABLE while the resolver had no address: the call is asked again
      );
      return r?.message === `Hello go from ts-b@${b.addr}`;
    });
    const after = await go.request<Listed>("list-endpoints", { service });
    expect(after.endpoints).toEqual({
      [`${service}/${b.addr}`]: { addr: b.addr, metadata: "plain", metadataType: "string", hashable: true },
    });

    await regB.deregister();
    expect((await go.request<Listed>("list-endpoints", { service })).endpoints).toEqual({});
  });

  it("Go's AddEndpoint (under a lease) → etcd-ts discover() and a call through the balanced transport", async () => {
    const { etcd, go, cleanups } = side();
    const service = unique("svc-go");
    const view = discover(etcd, service);
    cleanups.push(() => view.close());
    await view.ready;
    expect(view.instances()).toEqual([]);
    const server = await greeter(side(), "called-by-ts");

    // Metadata kept hashable (a string, a number) as docs/discovery.md asks of Go writers, and an
    // object as a Go program may still write it: etcd-ts reads all three as written.
    const written: [string, string, unknown][] = [
      [`${service}/a`, server.addr, "zone-a"],
      [`${service}/b`, "127.0.0.1:1", 7],
      [`${service}/c`, "127.0.0.1:2", { zone: "c", weight: 2 }],
    ];
    const leases = new Map<string, string>();
    for (const [key, addr, metadata] of written) {
      const r = await go.request<{ lease: string }>("add-endpoint", {
        service,
        key,
        addr,
        metadata,
        ttl: 10,
      });
      leases.set(key, r.lease);
    }
    await until("etcd-ts' view to show Go's three endpoints", () => view.instances().length === 3);
    expect(
      [...view.entries()]
        .sort(([a], [b]) => a.localeCompare(b))
        .map(([key, i]) => [key, i.addr, i.metadata, i.service, i.weight, i.draining]),
    ).toEqual(written.map(([key, addr, metadata]) => [key, addr, metadata, service, 1, false]));
    for (const [key, lease] of leases) expect((await etcd.get(key))?.lease.toString(16)).toBe(lease);
    const types = (await go.request<Listed>("list-endpoints", { service })).endpoints;
    expect(Object.values(types).map((e) => e.hashable)).toEqual([true, true, false]);

    // etcd-ts calls the instance Go registered (the other two refuse connections and are retried).
    const transport = createBalancedTransport({
      discovery: view,
      createTransport: (addr) => createHttp2Transport({ baseUrl: `http://${addr}` }),
      isRetryable: () => true,
    });
    cleanups.push(() => transport.close());
    const greeterClient = createClient(Greeter, transport);
    const reply = await greeterClient.sayHello({ name: "ts" });
    expect(reply.message).toBe(`Hello ts from called-by-ts@${server.addr}`);

    // Go's DeleteEndpoint (and lease revoke) → removed from etcd-ts' view.
    await go.request("delete-endpoint", { service, key: `${service}/b` });
    await until("etcd-ts' view to drop Go's deleted endpoint", () => view.instances().length === 2);
    expect([...view.entries().keys()].sort()).toEqual([`${service}/a`, `${service}/c`]);
  });
}

function lockCases(side: () => Side): void {
  it("a Go holder blocks an etcd-ts Mutex and the other way round, in Go's key layout", async () => {
    const { etcd, go, cleanups } = side();
    const name = unique("locks/job");
    const goHandle = unique("h");
    const goHeld = await go.request<{ key: string; lease: string }>("lock", { handle: goHandle, name });
    expect(goHeld.key).toBe(`${name}/${goHeld.lease}`);

    const session = await Session.create(etcd, { ttl: 10 });
    cleanups.push(() => session.close());
    const probe = new Mutex(session, name);
    expect(await probe.tryLock()).toBe(false);

    const mutex = new Mutex(session, name);
    let tsLocked = false;
    const locking = mutex.lock({ timeoutMs: 60_000 }).then(() => {
      tsLocked = true;
    });
    const tsKey = `${name}/${session.leaseId.toString(16)}`;
    await until("etcd-ts' waiter key behind Go's", async () => (await queue(etcd, `${name}/`)).length === 2);
    expect(await queue(etcd, `${name}/`)).toEqual([goHeld.key, tsKey]);
    expect(tsLocked).toBe(false); // Go still holds the lock

    await go.request("unlock", { handle: goHandle });
    await within(locking, "etcd-ts' lock once Go unlocked");
    expect(mutex.key).toBe(tsKey);

    // Now etcd-ts holds: Go's TryLock says locked, Go's Lock waits.
    expect(await go.request("try-lock", { handle: unique("h"), name })).toEqual({ locked: false });
    const goHandle2 = unique("h");
    const goLock = go.send<{ key: string; lease: string }>("lock", { handle: goHandle2, name });
    await until("Go's waiter key behind etcd-ts'", async () => (await queue(etcd, `${name}/`)).length === 2);
    expect((await queue(etcd, `${name}/`))[0]).toBe(tsKey);
    expect(goLock.settled()).toBe(false); // etcd-ts still holds the lock

    await mutex.unlock();
    const second = await within(goLock.result, "Go's lock once etcd-ts unlocked");
    expect(second.key).toBe(`${name}/${second.lease}`);
    expect(await queue(etcd, `${name}/`)).toEqual([second.key]);
    await go.request("unlock", { handle: goHandle2 });
    expect(await queue(etcd, `${name}/`)).toEqual([]);
  });
}

function electionCases(side: () => Side): void {
  it("leaders: etcd-ts' Election sees Go's leader and Go's Election sees etcd-ts'", async () => {
    const { etcd, go, cleanups } = side();
    const name = unique("elect/primary");
    expect(await go.request("leader", { name })).toEqual({ none: true });

    const goHandle = unique("e");
    const goWon = await go.request<{ key: string; revision: number }>("campaign", {
      handle: goHandle,
      name,
      value: "go-1",
    });
    const session = await Session.create(etcd, { ttl: 10 });
    cleanups.push(() => session.close());
    const election = new Election(session, name);
    const seen = await election.leader();
    expect([seen?.keyText(), seen?.text(), seen?.createRevision]).toEqual([
      goWon.key,
      "go-1",
      BigInt(goWon.revision),
    ]);

    let tsLeading = false;
    const campaigning = election.campaign("ts-1", { timeoutMs: 60_000 }).then(() => {
      tsLeading = true;
    });
    await until(
      "etcd-ts' candidate key behind Go's",
      async () => (await queue(etcd, `${name}/`)).length === 2,
    );
    expect(tsLeading).toBe(false); // Go still leads

    await go.request("resign", { handle: goHandle });
    await within(campaigning, "etcd-ts elected once Go resigned");
    expect(await go.request("leader", { name })).toEqual({
      key: election.key,
      value: "ts-1",
      createRevision: Number(election.revision),
    });
    await election.proclaim("ts-2");
    expect(await go.request("leader", { name })).toMatchObject({ key: election.key, value: "ts-2" });

    const goHandle2 = unique("e");
    const goCampaign = go.send<{ key: string }>("campaign", { handle: goHandle2, name, value: "go-2" });
    await until(
      "Go's candidate key behind etcd-ts'",
      async () => (await queue(etcd, `${name}/`)).length === 2,
    );
    expect(goCampaign.settled()).toBe(false); // etcd-ts still leads

    await election.resign();
    const goWon2 = await within(goCampaign.result, "Go elected once etcd-ts resigned");
    const leader = await election.leader();
    expect([leader?.keyText(), leader?.text()]).toEqual([goWon2.key, "go-2"]);
    await go.request("resign", { handle: goHandle2 });
    expect(await election.leader()).toBeUndefined();
  });
}

/** An event of either side, reduced to what both report. */
type Seen = Pick<GoWatchEvent, "type" | "key" | "value" | "modRevision">;

function watchAndNamespaceCases(side: () => Side): void {
  it("namespaced keys: Go's namespace.NewKV ↔ etcd.namespace()", async () => {
    const { etcd, go } = side();
    const ns = `${unique("ns/app")}/`;
    const app = etcd.namespace(ns);

    await go.request("put", { namespace: ns, key: "from-go", value: "1" });
    expect((await app.get("from-go"))?.text()).toBe("1");
    expect((await etcd.get(`${ns}from-go`))?.text()).toBe("1");

    await app.put("from-ts", "2");
    // Siblings right outside the namespace must not show up inside it on either side.
    await etcd.put(ns.slice(0, -1), "outside");
    await etcd.put(`${ns.slice(0, -1)}0`, "outside");
    const got = await go.request<{ kvs: { key: string; value: string }[] }>("get", {
      namespace: ns,
      key: "",
      prefix: true,
    });
    expect(got.kvs.map((kv) => [kv.key, kv.value])).toEqual([
      ["from-go", "1"],
      ["from-ts", "2"],
    ]);
    expect((await app.range({ prefix: "" })).kvs.map((kv) => [kv.keyText(), kv.text()])).toEqual([
      ["from-go", "1"],
      ["from-ts", "2"],
    ]);

    await go.request("delete", { namespace: ns, key: "from-ts" });
    expect(await app.get("from-ts")).toBeUndefined();
  });

  it("Go watches from revision R and sees exactly what etcd-ts wrote (namespace.NewWatcher too)", async () => {
    const { etcd, go } = side();
    const p = `${unique("watch/ts")}/`;
    const before = await etcd.put(`${p}before`, "not seen");
    const R = before.revision + 1n;
    const expected: Seen[] = [];
    const put = async (key: string, value: string) =>
      expected.push({ type: "PUT", key, value, modRevision: Number((await etcd.put(key, value)).revision) });

    await put(`${p}a`, "1");
    await put(`${p}a`, "2");
    await put(`${p}b`, "ünïcode ✓");
    expected.push({
      type: "DELETE",
      key: `${p}a`,
      value: "",
      modRevision: Number((await etcd.delete(`${p}a`)).revision),
    });
    const txn = await etcd
      .txn()
      .onSuccess(op.put(`${p}c`, "3"), op.delete(`${p}b`))
      .commit();
    expected.push(
      { type: "PUT", key: `${p}c`, value: "3", modRevision: Number(txn.revision) },
      { type: "DELETE", key: `${p}b`, value: "", modRevision: Number(txn.revision) },
    );
    await etcd.put(`${p.slice(0, -1)}x`, "outside the prefix");

    // History first (R is in the past), then live writes.
    const id = unique("w");
    await go.watch(id, { key: p, prefix: true, rev: R });
    const nsId = unique("w");
    await go.watch(nsId, { key: "", prefix: true, rev: R, namespace: p });
    await put(`${p}d`, "4");
    await put(`${p}end`, "");
    await go.waitForEvent(id, `${p}end`);
    await go.waitForEvent(nsId, "end");

    const reduce = (e: GoWatchEvent): Seen => ({
      type: e.type,
      key: e.key,
      value: e.value,
      modRevision: e.modRevision,
    });
    expect(go.events(id).map(reduce)).toEqual(expected);
    expect(go.events(nsId).map(reduce)).toEqual(expected.map((e) => ({ ...e, key: e.key.slice(p.length) })));
    await go.request("cancel-watch", { watch: id });
    await go.request("cancel-watch", { watch: nsId });
  });

  it("etcd-ts watches from revision R and sees exactly what Go wrote (etcd.namespace() too)", async () => {
    const { etcd, go } = side();
    const p = `${unique("watch/go")}/`;
    await go.request("put", { key: `${p}before`, value: "not seen" });
    const expected: Seen[] = [];
    const put = async (key: string, value: string) => {
      const r = await go.request<{ revision: number }>("put", { key, value });
      expected.push({ type: "PUT", key, value, modRevision: r.revision });
    };
    await put(`${p}a`, "1");
    const R = BigInt(expected[0]!.modRevision);
    await put(`${p}a`, "2");
    await put(`${p}b`, "ünïcode ✓");
    const del = await go.request<{ revision: number }>("delete", { key: `${p}a` });
    expected.push({ type: "DELETE", key: `${p}a`, value: "", modRevision: del.revision });
    await go.request("put", { key: `${p.slice(0, -1)}x`, value: "outside the prefix" });
    // Go's namespaced put: the same key space, seen under its full key.
    const nsPut = await go.request<{ revision: number }>("put", { namespace: p, key: "c", value: "3" });
    expected.push({ type: "PUT", key: `${p}c`, value: "3", modRevision: nsPut.revision });

    const collect = async (w: ReturnType<Etcd["watch"]>, end: string): Promise<Seen[]> => {
      const seen: Seen[] = [];
      for await (const batch of w) {
        for (const e of batch.events)
          seen.push({
            type: e.type === "put" ? "PUT" : "DELETE",
            key: e.kv.keyText(),
            value: e.kv.text(),
            modRevision: Number(e.kv.modRevision),
          });
        if (seen.some((e) => e.key === end)) break;
      }
      return seen;
    };
    const w = etcd.watch({ prefix: p }, { startRevision: R });
    const nsW = etcd.namespace(p).watch({ prefix: "" }, { startRevision: R });
    const all = collect(w, `${p}end`);
    const inNs = collect(nsW, "end");
    await w.created;
    await nsW.created;
    await put(`${p}d`, "4");
    await put(`${p}end`, "");

    expect(await within(all, "etcd-ts' watch to reach Go's end marker")).toEqual(expected);
    expect(await within(inNs, "etcd-ts' namespaced watch to reach Go's end marker")).toEqual(
      expected.map((e) => ({ ...e, key: e.key.slice(p.length) })),
    );
  });
}

describe("finding Go", () => {
  it("takes go on PATH, else /usr/local/go/bin/go, else fails naming both", async () => {
    const dir = await mkdtemp(join(tmpdir(), "etcd-ts-go-"));
    try {
      await writeFile(join(dir, "go"), "#!/bin/sh\n", { mode: 0o755 });
      expect(findGo({ PATH: `/nonexistent${delimiter}${dir}` }, "/nonexistent/go")).toBe(join(dir, "go"));
      expect(findGo({ PATH: "/nonexistent" }, join(dir, "go"))).toBe(join(dir, "go"));
      expect(() => findGo({ PATH: "/nonexistent" }, "/nonexistent/go")).toThrow(
        "test/interop needs Go (https://go.dev/dl/; 1.26, or any Go >= 1.21, which fetches 1.26 itself) to build its Go client program: no `go` on PATH and none at /nonexistent/go",
      );
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe("Go client beside etcd-ts, auth off", () => {
  let cluster: EtcdCluster;
  const s = { cleanups: [], servers: [] } as unknown as Side;

  beforeAll(async () => {
    cluster = await startEtcd();
    s.etcd = new Etcd({ endpoints: cluster.endpoints });
    s.go = await GoProgram.start(binary, { endpoints: cluster.endpoints });
  });
  afterEach(() => tearDown(s));
  afterAll(async () => {
    await s.go?.close();
    await s.etcd?.close();
    await cluster?.close();
  });

  it("runs the pinned Go client", () => {
    expect(s.go.goClient).toBe(GO_CLIENT);
  });
  registrationCases(() => s);
  lockCases(() => s);
  electionCases(() => s);
  watchAndNamespaceCases(() => s);
});

describe("Go client beside etcd-ts, auth on (a user with a role)", () => {
  let cluster: EtcdCluster;
  const s = { cleanups: [], servers: [] } as unknown as Side;
  const user = { username: "app", password: "app-secret" };

  beforeAll(async () => {
    cluster = await startEtcd();
    await enableAuth(cluster.endpoint, {
      rootPassword: "root-secret",
      role: {
        name: "services",
        grants: [
          ["readwrite", "svc-"],
          ["readwrite", "locks/"],
          ["readwrite", "elect/"],
        ],
        users: [user],
      },
    });
    s.etcd = new Etcd({ endpoints: cluster.endpoints, auth: user });
    s.go = await GoProgram.start(binary, { endpoints: cluster.endpoints, user });
  });
  afterEach(() => tearDown(s));
  afterAll(async () => {
    await s.go?.close();
    await s.etcd?.close();
    await cluster?.close();
  });

  it("auth is on: without a user neither side may read the service keys", async () => {
    const anonymous = new Etcd({ endpoints: cluster.endpoints });
    s.cleanups.push(() => anonymous.close());
    await expect(anonymous.get("svc-x")).rejects.toThrow();
    const goAnonymous = await GoProgram.start(binary, { endpoints: cluster.endpoints });
    s.cleanups.push(() => goAnonymous.close());
    await expect(goAnonymous.request("get", { key: "svc-x" })).rejects.toThrow(
      /user name is empty|permission denied/,
    );
    // The role's user may: it is the role, not root, that the cases below run as.
    await expect(s.go.request("get", { key: "ns/x" })).rejects.toThrow(/permission denied/);
  });
  registrationCases(() => s);
  lockCases(() => s);
  electionCases(() => s);
});
