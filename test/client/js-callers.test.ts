import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  compare,
  createHttp2Transport,
  Election,
  type Etcd,
  InvalidArgumentError,
  Mutex,
  op,
  runStm,
  Session,
} from "../../src/client/index.js";
import { createConnectNodeTransport } from "../../src/connect-node/index.js";
import { createBalancedTransport, discover, register } from "../../src/discovery/index.js";
import { createGrpcJsTransport, registerEtcdResolver } from "../../src/grpc-js/index.js";
import { type EtcdCluster, FaultProxy, startEtcd } from "../../src/testing/index.js";
import { CallTap } from "../support/call-tap.js";

/**
 * What a JavaScript caller (no type checker) gets for wrong argument types: an `InvalidArgumentError`
 * naming the argument, before anything is sent (so never retried), and `number` wherever a revision,
 * lease ID or limit is asked for.
 */
let cluster: EtcdCluster;
let etcd: Etcd;
const tap = new CallTap();
// biome-ignore lint/suspicious/noExplicitAny: these tests play a JavaScript caller
const js = (target: unknown = etcd): any => target;
// biome-ignore lint/suspicious/noExplicitAny: these tests play a JavaScript caller
const jsRegister = register as (...args: any[]) => Promise<unknown>;
// biome-ignore lint/suspicious/noExplicitAny: these tests play a JavaScript caller
const jsDiscover = discover as (...args: any[]) => unknown;

beforeAll(async () => {
  cluster = await startEtcd();
  etcd = tap.client({ endpoints: cluster.endpoints });
});

afterAll(async () => {
  await etcd?.close();
  await cluster?.close();
});

/** Runs `call` and expects an InvalidArgumentError naming `field`, with no RPC sent. */
async function refused(field: string, call: () => unknown): Promise<InvalidArgumentError> {
  const before = tap.calls.length;
  const streamsBefore = tap.streams.length;
  let error: unknown;
  try {
    await call();
  } catch (err) {
    error = err;
  }
  expect(error, `a call with a bad ${field}`).toBeInstanceOf(InvalidArgumentError);
  expect((error as InvalidArgumentError).field).toBe(field);
  expect(tap.calls.length, "nothing sent").toBe(before);
  expect(tap.streams.length, "no stream opened").toBe(streamsBefore);
  return error as InvalidArgumentError;
}

describe("a JavaScript caller", () => {
  it("gets InvalidArgumentError for keys and values of the wrong type, before anything is sent", async () => {
    expect((await refused("value", () => js().put("k", 42))).message).toBe(
      "value: must be a string or a Uint8Array, got number",
    );
    await refused("value", () => js().put("k", { a: 1 }));
    await refused("value", () => js().put("k", null));
    await refused("key", () => js().put(null, "v"));
    await refused("key", () => js().get(undefined));
    await refused("key", () => js().get(7));
    await refused("key", () => js().delete(["a"]));
    await refused("prefix", () => js().range({ prefix: 1 }));
    await refused("end", () => js().range({ key: "a", end: 2 }));
    await refused("value", () =>
      etcd
        .txn()
        .if(compare.value("k", "=", 42 as unknown as string))
        .commit(),
    );
  });

  it("gets InvalidArgumentError for txn guards and branch ops that compare and op did not make", async () => {
    const message = (await refused("onSuccess", () => js().txn().onSuccess({}).commit())).message;
    expect(message).toBe(
      "onSuccess: op 1 must be made by op.get, op.put, op.delete or op.txn, got an object (Object)",
    );
    await refused("onSuccess", () => js().txn().onSuccess("x").commit());
    await refused("onSuccess", () => js().txn().onSuccess(undefined).commit());
    await refused("onSuccess", () => js().txn().onSuccess(op.put("k", "v"), null).commit());
    await refused("onFailure", () => js().txn().onFailure({ kind: "put", message: {} }).commit());
    expect((await refused("if", () => js().txn().if("garbage").commit())).message).toBe(
      'if: guard 1 must be made by compare.value, version, createRevision, modRevision or lease, got "garbage"',
    );
    await refused("if", () =>
      js()
        .txn()
        .if(compare.version("k", "=", 0), {})
        .commit(),
    );
    await refused("txn", () => op.txn({} as never));
    await refused("operator", () => compare.value("k", "constructor" as never, "v"));
    // The same txn, built right, runs.
    const res = await etcd
      .txn()
      .if(compare.version("js/txn", "=", 0))
      .onSuccess(op.put("js/txn", "1"))
      .commit();
    expect(res.succeeded).toBe(true);
  });

  it("gets InvalidArgumentError for a signal that is not an AbortSignal, before the call starts", async () => {
    const error = await refused("signal", () => js().get("k", { signal: "x" }));
    expect(error.message).toBe('signal: must be an AbortSignal, got "x"');
    await refused("signal", () => js().put("k", "v", { signal: {} }));
    await refused("signal", () => js().lease.grant(10, { signal: 1 }));
    await refused("signal", () => js().txn().onSuccess(op.get("k")).commit({ signal: "x" }));
    await refused("signal", () => js().maintenance.status(undefined, { signal: "x" }));
    await refused("options", () => js().get("k", 5));
    // A real signal still works.
    expect(await etcd.get("js/none", { signal: new AbortController().signal })).toBeUndefined();
  });

  it('sees string inputs quoted in messages: "10" is not 10', async () => {
    expect((await refused("ttl", () => js().lease.grant("10"))).message).toBe(
      'ttl: must be an integer, got "10"',
    );
    expect((await refused("timeoutMs", () => js().get("k", { timeoutMs: "5" }))).message).toBe(
      'timeoutMs: must be a number >= 1, got "5"',
    );
    expect((await refused("limit", () => js().range({ prefix: "a" }, { limit: "3" }))).message).toBe(
      'limit: must be an integer, got "3"',
    );
  });

  it("gets InvalidArgumentError from register() and discover() for a missing or empty service or addr", async () => {
    await refused("service", () => jsRegister(js(), { service: "", addr: "x" }));
    await refused("addr", () => jsRegister(js(), { service: "s" }));
    await refused("addr", () => jsRegister(js(), { service: "s", addr: "" }));
    await refused("service", () => jsRegister(js(), { addr: "h:1" }));
    await refused("service", () => jsRegister(js(), { service: 7, addr: "h:1" }));
    await refused("options", () => jsRegister(js(), undefined));
    await refused("etcd", () => jsRegister(undefined, { service: "s", addr: "h:1" }));
    await refused("ttl", () => jsRegister(js(), { service: "s", addr: "h:1", ttl: "10" }));
    await refused("weight", () => jsRegister(js(), { service: "s", addr: "h:1", weight: -1 }));
    await refused("signal", () => jsRegister(js(), { service: "s", addr: "h:1", signal: "x" }));
    await refused("service", () => jsDiscover(js(), ""));
    await refused("service", () => jsDiscover(js(), undefined));
    await refused("etcd", () => jsDiscover(undefined, "s"));
    await refused("signal", () => jsDiscover(js(), "s", { signal: "x" }));
    await refused("filter", () => jsDiscover(js(), "s", { filter: "draining" }));
    // Nothing was written under the keys a missing field would have made.
    const written = await etcd.range({ prefix: "" }, { keysOnly: true });
    expect(written.kvs.map((kv) => kv.keyText())).not.toContain("/x");
    expect(written.kvs.map((kv) => kv.keyText())).not.toContain("s/undefined");
  });

  it("refuses a service name with a slash, pointing to the codec's keyPrefix", async () => {
    const error = await refused("service", () => jsRegister(js(), { service: "a/b", addr: "h:2" }));
    expect(error.message).toContain("keyPrefix");
    await refused("service", () => jsDiscover(js(), "a/b"));
  });

  it("gets InvalidArgumentError from Mutex and Election for a missing session or name", async () => {
    await using session = await Session.create(etcd, { ttl: 10 });
    const M = Mutex as unknown as new (...args: unknown[]) => Mutex;
    const E = Election as unknown as new (...args: unknown[]) => Election;
    await refused("prefix", () => new M(session, undefined));
    await refused("prefix", () => new M(session, ""));
    await refused("prefix", () => new M(session, 42));
    await refused("session", () => new M(undefined, "x"));
    await refused("session", () => new M(etcd, "x"));
    await refused("prefix", () => new E(session, ""));
    await refused("session", () => new E(undefined, "x"));
    const mutex = new Mutex(session, "js/lock");
    await refused("signal", () => js(mutex).lock({ signal: "x" }));
    await refused("timeoutMs", () => js(mutex).lock({ timeoutMs: "5" }));
    expect(mutex.state).toBe("unlocked");
  });

  it("gets InvalidArgumentError from Session.create() and runStm() for a missing client, function or options", async () => {
    const create = Session.create as (...args: unknown[]) => Promise<Session>;
    await refused("etcd", () => create(undefined));
    await refused("etcd", () => create(null, { ttl: 10 }));
    await refused("etcd", () => create({}, { ttl: 10 }));
    await refused("options", () => create(etcd, null));
    await refused("options", () => create(etcd, "10"));
    await refused("ttl", () => create(etcd, { ttl: "10" }));
    const stm = runStm as (...args: unknown[]) => Promise<unknown>;
    let applied = 0;
    const apply = () => {
      applied++;
    };
    await refused("etcd", () => stm(null, apply));
    await refused("apply", () => stm(etcd, undefined));
    await refused("apply", () => stm(etcd, "k"));
    await refused("options", () => stm(etcd, apply, null));
    // A misspelt level would otherwise have run as repeatableReads.
    const level = await refused("isolation", () => stm(etcd, apply, { isolation: "serialisable" }));
    expect(level.message).toContain('got "serialisable"');
    // NaN would never have given up; 0 and "2" would have meant 1 and 2 silently.
    await refused("maxAttempts", () => stm(etcd, apply, { maxAttempts: Number.NaN }));
    await refused("maxAttempts", () => stm(etcd, apply, { maxAttempts: 0 }));
    await refused("maxAttempts", () => stm(etcd, apply, { maxAttempts: "2" }));
    // A string would have been spread into one-character keys.
    await refused("prefetch", () => stm(etcd, apply, { prefetch: "config" }));
    await refused("signal", () => stm(etcd, apply, { signal: "x" }));
    expect(applied, "apply never ran").toBe(0);
  });

  it("gets InvalidArgumentError for a watch of the wrong key or options, and for an empty key", async () => {
    await refused("key", () => js().watch(42));
    await refused("key", () => js().watch(""));
    await refused("options", () => js().watch("k", null));
    await refused("startRevision", () => js().watch("k", { startRevision: "3" }));
    await refused("startRevision", () => js().watch("k", { startRevision: 0 }));
    // etcd 3.5+ answers a start revision of -1 as "compacted" (3.4 as "now"): never sent.
    await refused("startRevision", () => js().watch("k", { startRevision: -1 }));
    await refused("startRevision", () => js().watch("k", { startRevision: -1n }));
    await refused("end", () => js().watch({ key: "a", end: 5 }));
    await refused("prefix", () => js().watch({ prefix: null }));
  });

  it("gets InvalidArgumentError for lease IDs of the wrong type", async () => {
    await refused("id", () => js().lease.revoke("12"));
    await refused("id", () => js().lease.timeToLive(null));
    await refused("id", () => js().lease.grant(5, { id: 1.5 }));
  });

  it("gets InvalidArgumentError for null options, and a live object with a bad signal leaves nothing behind", async () => {
    await refused("options", () => js().range("k", null));
    await refused("options", () => js().delete("k", null));
    await refused("options", () => js().iterate("k", null));
    await refused("options", () => js().lease.grant(10, null));
    await refused("options", () => js().lease.revoke(1, null));
    // A sort given as a string was taken as no sort; an inherited name as a target.
    await refused("sort", () => js().range({ prefix: "k" }, { sort: "mod" }));
    await refused("sort.target", () => js().range({ prefix: "k" }, { sort: { target: "toString" } }));
    // A misspelt filter became the other one.
    const filter = await refused("filters", () => js().watch("k", { filters: ["noPost"] }));
    expect(filter.message).toContain('"noPost"');
    await refused("filters", () => js().watch("k", { filters: "noPut" }));
    await using session = await Session.create(etcd, { ttl: 10 });
    await refused("options", () => js(new Mutex(session, "js/m")).lock(null));
    await refused("options", () => js(new Mutex(session, "js/m")).tryLock(null));
    await refused("options", () => js(new Election(session, "js/e")).campaign("v", null));
    await refused("options", async () => {
      for await (const _ of js(new Election(session, "js/e")).observe(null)) break;
    });
    const balanced = createBalancedTransport as (...args: unknown[]) => unknown;
    await refused("options", () => balanced(null));
    await refused("createTransport", () => balanced({ etcd, service: "s", createTransport: 5 }));
    await refused("maxAttempts", () =>
      balanced({ etcd, service: "s", createTransport: () => undefined, maxAttempts: 0 }),
    );

    // A cache or mirror refused for its signal (a TypeError, before) was left attached to the client,
    // and its end threw out of the client's close() as an uncaught exception, which fails this file.
    const own = tap.client({ endpoints: cluster.endpoints });
    await refused("signal", () => js(own).cache({ prefix: "js/" }, { signal: "x" }));
    await refused("signal", () => js(own).mirror("js/", { signal: {} }));
    await refused("signal", () => js(own).watch("js/", { signal: "x" }));
    await own.close();
    // Still usable afterwards: the refused objects took nothing of the shared client.
    expect((await etcd.put("js/after", "1")).revision).toBeGreaterThan(0n);
  });

  it("may give revisions and lease IDs as numbers", async () => {
    const first = await etcd.put("js/a", "1");
    await etcd.put("js/a", "2");
    const lease = await etcd.lease.grant(30, { id: 424242, keepAlive: false });
    expect(lease.id).toBe(424242n);
    expect((await etcd.lease.timeToLive(424242)).ttl).toBeGreaterThan(0);
    const watcher = etcd.watch("js/a", { startRevision: Number(first.revision) });
    const seen: string[] = [];
    for await (const batch of watcher) {
      for (const e of batch.events) seen.push(new TextDecoder().decode(e.kv!.value));
      if (seen.length >= 2) break;
    }
    expect(seen).toEqual(["1", "2"]);
    await etcd.lease.revoke(424242);
    expect((await etcd.lease.timeToLive(424242)).ttl).toBe(-1);
  });

  it("can JSON.stringify and console.log what a read returns", async () => {
    await etcd.put("js/json", '{"x":1}');
    const kv = (await etcd.get("js/json"))!;
    const json = JSON.parse(JSON.stringify(kv));
    expect(json).toMatchObject({ key: "js/json", value: '{"x":1}', version: "1", lease: "0" });
    expect(typeof json.modRevision).toBe("string");
  });

  it("gets InvalidArgumentError from every transport factory and the test kit for bad options", async () => {
    const bad = [
      () => createHttp2Transport({ baseUrl: "ftp://127.0.0.1:2379" }),
      () => createGrpcJsTransport({ baseUrl: "not a url" }),
      () => createGrpcJsTransport({ baseUrl: "http://127.0.0.1:2379", tls: {} }),
      () => createConnectNodeTransport({ baseUrl: null as unknown as string }),
      () => createConnectNodeTransport({ baseUrl: "http://127.0.0.1:2379", tls: {} }),
    ];
    for (const make of bad) expect(make).toThrow(InvalidArgumentError);
    // null options were TypeErrors; a resolver registered with no client failed only when a channel used it.
    const jsFactory = (f: unknown) => f as (...args: unknown[]) => unknown;
    await refused("options", () => jsFactory(createHttp2Transport)(null));
    await refused("options", () => jsFactory(createGrpcJsTransport)(null));
    await refused("options", () => jsFactory(createConnectNodeTransport)(null));
    await refused("etcd", () => jsFactory(registerEtcdResolver)(null));
    await refused("options", () => jsFactory(registerEtcdResolver)(etcd, null));
    await expect(startEtcd({ members: 0 })).rejects.toBeInstanceOf(InvalidArgumentError);
    await expect(startEtcd({ members: "2" as unknown as number })).rejects.toMatchObject({
      field: "members",
    });
    await expect(jsFactory(startEtcd)(null)).rejects.toMatchObject({ field: "options" });
    await expect(startEtcd({ args: "--debug" as unknown as string[] })).rejects.toMatchObject({
      field: "args",
    });
    await expect(jsFactory(FaultProxy.start)(null)).rejects.toMatchObject({ field: "target" });
    await expect(jsFactory(FaultProxy.start)(2379)).rejects.toMatchObject({ field: "target" });
  });
});
