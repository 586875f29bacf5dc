import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { compare, createHttp2Transport, type Etcd, InvalidArgumentError } from "../../src/client/index.js";
import { createConnectNodeTransport } from "../../src/connect-node/index.js";
import { createGrpcJsTransport } from "../../src/grpc-js/index.js";
import { type EtcdCluster, startEtcd } from "../../src/testing/index.js";
import { CallTap } from "../support/call-tap.js";

/**
 * What a JavaScript caller (no type checker) gets for wrong argument types: an `InvalidArgumentError`
 * naming the argument, before anything is sent (so never retried), and `number` wherever a revision,
 * lease ID or limit is asked for.
 */
let cluster: EtcdCluster;
let etcd: Etcd;
const tap = new CallTap();
const unhandled: unknown[] = [];
const onUnhandled = (reason: unknown) => unhandled.push(reason);
// biome-ignore lint/suspicious/noExplicitAny: these tests play a JavaScript caller
const js = (): any => etcd;

beforeAll(async () => {
  process.on("unhandledRejection", onUnhandled);
  cluster = await startEtcd();
  etcd = tap.client({ endpoints: cluster.endpoints });
});

afterAll(async () => {
  await etcd?.close();
  await cluster?.close();
  process.off("unhandledRejection", onUnhandled);
  expect(unhandled).toEqual([]);
});

/** Runs `call` and expects an InvalidArgumentError naming `field`, with no RPC sent. */
async function refused(field: string, call: () => unknown): Promise<InvalidArgumentError> {
  const before = tap.calls.length;
  let error: unknown;
  try {
    await call();
  } catch (err) {
    error = err;
  }
  expect(error, `a call with a bad ${field}`).toBeInstanceOf(InvalidArgumentError);
  expect((error as InvalidArgumentError).field).toBe(field);
  expect(tap.calls.length, "nothing sent").toBe(before);
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
    await expect(startEtcd({ members: 0 })).rejects.toBeInstanceOf(InvalidArgumentError);
    await expect(startEtcd({ members: "2" as unknown as number })).rejects.toMatchObject({
      field: "members",
    });
  });
});
