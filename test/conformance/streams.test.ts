import type { MessageInitShape } from "@bufbuild/protobuf";
import { Code, ConnectError, createClient, encodeBinaryHeader } from "@connectrpc/connect";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import type { WatchRequestSchema } from "../../src/gen/etcdserverpb/rpc_pb.js";
import { KV, Watch, type WatchResponse } from "../../src/gen/etcdserverpb/rpc_pb.js";
import { type EtcdCluster, startEtcd } from "../../src/testing/index.js";
import { Pushable } from "../support/pushable.js";
import { type ClosableTransport, transports, transportsWithGateway } from "../support/transports.js";
import { within } from "../support/wait.js";

const te = new TextEncoder();
type WatchInit = MessageInitShape<typeof WatchRequestSchema>;

const create = (key: Uint8Array, rangeEnd?: Uint8Array): WatchInit => ({
  requestUnion: { case: "createRequest", value: { key, ...(rangeEnd && { rangeEnd }) } },
});

let etcd: EtcdCluster;
beforeAll(async () => {
  etcd = await startEtcd();
});
afterAll(async () => {
  await etcd?.close();
});

describe.each(transportsWithGateway)("streams and metadata over $name", (factory) => {
  let transport: ClosableTransport;
  const key = (suffix: string) => te.encode(`${factory.name}/${suffix}`);
  beforeAll(() => {
    transport = factory.create({ baseUrl: etcd.endpoint });
  });
  afterAll(async () => {
    await transport?.close();
  });

  test("one Watch stream carries 200 creates and the events of 1000 puts", async () => {
    const watches = 200;
    const putsPerKey = 5;
    const input = new Pushable<WatchInit>();
    const abort = new AbortController();
    const responses = createClient(Watch, transport)
      .watch(input, { signal: abort.signal })
      [Symbol.asyncIterator]();
    const next = async (): Promise<WatchResponse> => {
      const r = await responses.next();
      if (r.done) throw new Error("watch stream ended early");
      return r.value;
    };
    try {
      for (let i = 0; i < watches; i++) input.push(create(key(`many/${i}`)));
      const watchIdOfKey = new Map<bigint, number>();
      for (let created = 0; created < watches; ) {
        const r = await next();
        if (r.created) watchIdOfKey.set(r.watchId, created++);
      }
      expect(watchIdOfKey.size).toBe(watches);
      const kv = createClient(KV, transport);
      for (let round = 0; round < putsPerKey; round++) {
        await Promise.all(
          Array.from({ length: watches }, (_, i) =>
            kv.put({ key: key(`many/${i}`), value: te.encode(String(round)) }),
          ),
        );
      }
      const eventsPerWatch = new Map<bigint, number>();
      let total = 0;
      while (total < watches * putsPerKey) {
        const r = await next();
        for (const event of r.events) {
          expect(new TextDecoder().decode(event.kv!.key)).toBe(
            `${factory.name}/many/${watchIdOfKey.get(r.watchId)}`,
          );
        }
        eventsPerWatch.set(r.watchId, (eventsPerWatch.get(r.watchId) ?? 0) + r.events.length);
        total += r.events.length;
      }
      expect(total).toBe(watches * putsPerKey);
      expect([...eventsPerWatch.values()].every((n) => n === putsPerKey)).toBe(true);
      expect(eventsPerWatch.size).toBe(watches);
    } finally {
      abort.abort();
      input.end();
    }
  });

  test("after the request side ends, etcd keeps the Watch open; aborting ends it with Canceled", async () => {
    const abort = new AbortController();
    const input = new Pushable<WatchInit>();
    input.push(create(key("half")));
    input.end();
    const responses = createClient(Watch, transport)
      .watch(input, { signal: abort.signal })
      [Symbol.asyncIterator]();
    const created = await responses.next();
    expect(created.done === false && created.value.created).toBe(true);
    // Give the half-close time to reach etcd before the events we expect afterwards.
    await new Promise((resolve) => setTimeout(resolve, 100));
    const kv = createClient(KV, transport);
    for (let i = 0; i < 3; i++) await kv.put({ key: key("half"), value: te.encode(String(i)) });
    let events = 0;
    while (events < 3) {
      const r = await responses.next();
      if (r.done) throw new Error("watch ended after half-close");
      events += r.value.events.length;
    }
    expect(events).toBe(3);
    const pending = responses.next();
    abort.abort();
    const error = await pending.then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(ConnectError);
    expect((error as ConnectError).code).toBe(Code.Canceled);
  });

  test("aborting a stream mid-call fails the reader promptly with Canceled", async () => {
    const abort = new AbortController();
    const input = new Pushable<WatchInit>();
    input.push(create(key("abort")));
    const responses = createClient(Watch, transport)
      .watch(input, { signal: abort.signal })
      [Symbol.asyncIterator]();
    expect((await responses.next()).value?.created).toBe(true);
    setTimeout(() => abort.abort(), 50);
    // Nothing else ends this read: the watch sees no events and has no deadline.
    const error = await within(
      responses.next().then(
        () => undefined,
        (e: unknown) => e,
      ),
      "the aborted watch read to fail",
    );
    expect((error as ConnectError).code).toBe(Code.Canceled);
    input.end();
  });
});

// Response headers and trailers are gRPC's: the gateway transport has neither on its wire.
describe.each(transports)("response metadata over $name", (factory) => {
  let transport: ClosableTransport;
  const key = (suffix: string) => te.encode(`${factory.name}/${suffix}`);
  beforeAll(() => {
    transport = factory.create({ baseUrl: etcd.endpoint });
  });
  afterAll(async () => {
    await transport?.close();
  });

  test("custom and -bin request headers are accepted; response headers and trailers are exposed", async () => {
    const kv = createClient(KV, transport);
    let header: Headers | undefined;
    let trailer: Headers | undefined;
    const headers = new Headers({
      "x-etcd-ts-test": "hello",
      "x-etcd-ts-trace-bin": encodeBinaryHeader(new Uint8Array([0, 1, 2, 250, 251, 255])),
    });
    const put = await kv.put(
      { key: key("md"), value: te.encode("v") },
      { headers, onHeader: (h) => (header = h), onTrailer: (t) => (trailer = t) },
    );
    expect(put.header!.revision).toBeGreaterThan(0n);
    // etcd echoes the request's subtype: grpc-js sends application/grpc, connect-node application/grpc+proto.
    expect(header?.get("content-type")).toMatch(/^application\/grpc(\+proto)?$/);
    expect(trailer).toBeInstanceOf(Headers);

    let streamHeader: Headers | undefined;
    const abort = new AbortController();
    const input = new Pushable<WatchInit>();
    input.push(create(key("md")));
    const stream = createClient(Watch, transport).watch(input, {
      headers,
      signal: abort.signal,
      onHeader: (h) => (streamHeader = h),
    });
    for await (const r of stream) {
      expect(r.created).toBe(true);
      break;
    }
    abort.abort();
    input.end();
    expect(streamHeader?.get("content-type")).toMatch(/^application\/grpc(\+proto)?$/);
  });
});
