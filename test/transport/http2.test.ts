import { execFile } from "node:child_process";
import { rm } from "node:fs/promises";
import { type AddressInfo, createServer, type Socket } from "node:net";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import type { MessageInitShape } from "@bufbuild/protobuf";
import { Code, ConnectError, createClient } from "@connectrpc/connect";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { pushedMessages } from "../../src/client/core/buffered-messages.js";
import { wasNotSent } from "../../src/client/core/failure.js";
import { QueuedIterator } from "../../src/client/core/queued-iterator.js";
import { createHttp2Transport, type Http2Transport } from "../../src/client/transport/http2/index.js";
import type { LeaseKeepAliveResponse, WatchRequestSchema } from "../../src/gen/etcdserverpb/rpc_pb.js";
import { KV, Lease, Maintenance, Watch, type WatchResponse } from "../../src/gen/etcdserverpb/rpc_pb.js";
import {
  type Certificates,
  type EtcdCluster,
  FaultProxy,
  freePort,
  generateCertificates,
  startEtcd,
} from "../../src/testing/index.js";
import { compiled } from "../support/compiled.js";
import { until, within } from "../support/wait.js";

const execFileAsync = promisify(execFile);
const enc = new TextEncoder();
const dec = new TextDecoder();
/** Lets etcd accept our short keepalive intervals (its default minimum is 5 s). */
const PERMISSIVE_KEEPALIVE = ["--grpc-keepalive-min-time=50ms"];

/** Awaits a call that must fail and returns its ConnectError. */
async function failure(promise: Promise<unknown>): Promise<ConnectError> {
  try {
    await promise;
  } catch (err) {
    expect(err).toBeInstanceOf(ConnectError);
    return err as ConnectError;
  }
  throw new Error("expected the call to fail");
}

/** A push-driven AsyncIterable for request streams; `end()` finishes it. */
class RequestQueue<T> implements AsyncIterable<T> {
  #items: T[] = [];
  #wake: (() => void) | undefined;
  #ended = false;
  push(item: T): void {
    this.#items.push(item);
    this.#wake?.();
  }
  end(): void {
    this.#ended = true;
    this.#wake?.();
  }
  async *[Symbol.asyncIterator](): AsyncIterator<T> {
    for (;;) {
      while (this.#items.length > 0) yield this.#items.shift()!;
      if (this.#ended) return;
      await new Promise<void>((resolve) => {
        this.#wake = resolve;
      });
      this.#wake = undefined;
    }
  }
}

type WatchInit = MessageInitShape<typeof WatchRequestSchema>;

function createWatch(key: string): WatchInit {
  return { requestUnion: { case: "createRequest", value: { key: enc.encode(key) } } } as WatchInit;
}

describe("http2 transport against one etcd member", () => {
  let cluster: EtcdCluster;
  let transport: Http2Transport;

  beforeAll(async () => {
    cluster = await startEtcd({ args: PERMISSIVE_KEEPALIVE });
  });
  afterAll(async () => {
    await cluster?.close();
  });
  afterEach(async () => {
    await transport?.close();
  });

  it("round-trips Put and Range and exposes response headers and trailers", async () => {
    transport = createHttp2Transport({ baseUrl: cluster.endpoint });
    const put = await transport.unary(
      KV.method.put,
      undefined,
      undefined,
      { "x-test": "1" },
      {
        key: enc.encode("greeting"),
        value: enc.encode("hello"),
      },
    );
    expect(put.header.get("content-type")).toMatch(/^application\/grpc/);
    expect(put.trailer.get("grpc-status")).toBe("0");
    expect(put.message.header?.revision).toBeGreaterThan(0n);
    const kv = createClient(KV, transport);
    const range = await kv.range({ key: enc.encode("greeting") });
    expect(range.kvs).toHaveLength(1);
    expect(dec.decode(range.kvs[0]!.value)).toBe("hello");
    expect(range.kvs[0]!.modRevision).toBe(put.message.header!.revision);
  });

  it("passes etcd's error status through: code, raw message and metadata", async () => {
    transport = createHttp2Transport({ baseUrl: cluster.endpoint });
    const lease = createClient(Lease, transport);
    const error = await failure(lease.leaseRevoke({ ID: 0x7fff_0000_1234n }));
    expect(error.code).toBe(Code.NotFound);
    expect(error.rawMessage).toBe("etcdserver: requested lease not found");
    expect(error.metadata.get("grpc-status")).toBe("5");
    expect(wasNotSent(error)).toBe(false);
  });

  it("serves many concurrent calls through a small client stream cap", async () => {
    transport = createHttp2Transport({ baseUrl: cluster.endpoint, maxConcurrentStreams: 3 });
    const kv = createClient(KV, transport);
    const puts = Array.from({ length: 200 }, (_, i) =>
      kv.put({ key: enc.encode(`cap/${i}`), value: enc.encode(`${i}`) }),
    );
    const results = await Promise.all(puts);
    const revisions = new Set(results.map((r) => r.header!.revision));
    expect(revisions.size).toBe(200);
    const range = await kv.range({ key: enc.encode("cap/"), rangeEnd: enc.encode("cap0"), countOnly: true });
    expect(range.count).toBe(200n);
  });

  it("queues calls above the client stream cap until a stream ends", async () => {
    transport = createHttp2Transport({ baseUrl: cluster.endpoint, maxConcurrentStreams: 1 });
    await expectQueuedBehindWatch(transport);
  });

  it("receives a response spread over many DATA frames and enforces the receive limit", async () => {
    transport = createHttp2Transport({ baseUrl: cluster.endpoint });
    const kv = createClient(KV, transport);
    const big = new Uint8Array(1024 * 1024).map((_, i) => i % 253);
    for (let i = 0; i < 4; i++) await kv.put({ key: enc.encode(`big/${i}`), value: big });
    const range = await kv.range({ key: enc.encode("big/"), rangeEnd: enc.encode("big0") });
    expect(range.kvs).toHaveLength(4);
    expect(Buffer.compare(Buffer.from(range.kvs[3]!.value), Buffer.from(big))).toBe(0);

    const small = createHttp2Transport({
      baseUrl: cluster.endpoint,
      maxReceiveMessageBytes: 2 * 1024 * 1024,
    });
    try {
      const error = await failure(
        createClient(KV, small).range({ key: enc.encode("big/"), rangeEnd: enc.encode("big0") }),
      );
      expect(error.code).toBe(Code.ResourceExhausted);
      // The transport stays usable after cancelling the oversize response.
      expect((await createClient(KV, small).range({ key: enc.encode("big/0") })).kvs).toHaveLength(1);
    } finally {
      await small.close();
    }
  });

  it("refuses to send a message above the send limit, marked not sent", async () => {
    transport = createHttp2Transport({ baseUrl: cluster.endpoint, maxSendMessageBytes: 1000 });
    const error = await failure(
      createClient(KV, transport).put({ key: enc.encode("k"), value: new Uint8Array(2000) }),
    );
    expect(error.code).toBe(Code.ResourceExhausted);
    expect(wasNotSent(error)).toBe(true);
  });

  it("fails a stream with DeadlineExceeded when its deadline passes", async () => {
    transport = createHttp2Transport({ baseUrl: cluster.endpoint });
    const watch = createClient(Watch, transport);
    const requests = new RequestQueue<WatchInit>();
    requests.push(createWatch("deadline"));
    const started = performance.now();
    const error = await within(
      failure(
        (async () => {
          for await (const _ of watch.watch(requests, { timeoutMs: 300 })) {
            // The created response arrives, then nothing until the deadline.
          }
        })(),
      ),
      "the watch to hit its deadline",
    );
    // The transport's own deadline, or (when its trailers win the race) etcd's side of the grpc-timeout we
    // sent, which grpc-go sometimes reports with code UNKNOWN.
    if (error.code !== Code.DeadlineExceeded)
      expect({ code: error.code, message: error.rawMessage }).toEqual({
        code: Code.Unknown,
        message: "context deadline exceeded",
      });
    // Never before the deadline (the transport enforces that; how late depends on the machine).
    expect(performance.now() - started).toBeGreaterThanOrEqual(250);
    // A zero deadline fails at once, before anything is sent.
    const immediate = await failure(
      createClient(KV, transport).range({ key: enc.encode("x") }, { timeoutMs: 0 }),
    );
    expect(immediate.code).toBe(Code.DeadlineExceeded);
    expect(wasNotSent(immediate)).toBe(true);
  });

  it("cancels a unary call when its signal aborts", async () => {
    transport = createHttp2Transport({ baseUrl: cluster.endpoint });
    const kv = createClient(KV, transport);
    await kv.range({ key: enc.encode("warm-up") });
    const controller = new AbortController();
    const call = kv.range({ key: enc.encode("abort") }, { signal: controller.signal });
    controller.abort();
    const error = await failure(call);
    expect(error.code).toBe(Code.Canceled);
    const already = await failure(kv.range({ key: enc.encode("abort") }, { signal: controller.signal }));
    expect(already.code).toBe(Code.Canceled);
    expect(wasNotSent(already)).toBe(true);
    // The session is still fine for the next call.
    expect((await kv.range({ key: enc.encode("abort") })).kvs).toHaveLength(0);
  });

  it("runs a bidi Watch with many messages each way, then cancels it while the consumer waits", async () => {
    transport = createHttp2Transport({ baseUrl: cluster.endpoint });
    const kv = createClient(KV, transport);
    const requests = new RequestQueue<WatchInit>();
    const controller = new AbortController();
    const stream = createClient(Watch, transport).watch(requests, { signal: controller.signal });
    const iterator = stream[Symbol.asyncIterator]();
    const keys = 100;
    for (let i = 0; i < keys; i++) requests.push(createWatch(`bidi/${i}`));
    const created = new Set<bigint>();
    while (created.size < keys) {
      const { value } = await iterator.next();
      const response = value as WatchResponse;
      expect(response.created).toBe(true);
      created.add(response.watchId);
    }
    const perKey = 5;
    await Promise.all(
      Array.from({ length: keys * perKey }, (_, n) =>
        kv.put({ key: enc.encode(`bidi/${n % keys}`), value: enc.encode(`${n}`) }),
      ),
    );
    let events = 0;
    while (events < keys * perKey) {
      const { value } = await iterator.next();
      events += (value as WatchResponse).events.length;
    }
    expect(events).toBe(keys * perKey);
    // etcd keeps Watch open after a half-close; cancelling ends the iteration with Canceled.
    const pending = iterator.next();
    setTimeout(() => controller.abort(), 20);
    const error = await failure(pending);
    expect(error.code).toBe(Code.Canceled);
    expect(await iterator.next()).toEqual({ done: true, value: undefined });
  });

  it("half-closes the request stream when the input ends (etcd then ends LeaseKeepAlive with OK)", async () => {
    transport = createHttp2Transport({ baseUrl: cluster.endpoint });
    const lease = createClient(Lease, transport);
    const granted = await lease.leaseGrant({ TTL: 30n });
    async function* three() {
      for (let i = 0; i < 3; i++) yield { ID: granted.ID };
    }
    const ttls: bigint[] = [];
    // Without the half-close etcd would wait for more requests and the 20 s signal would fail the loop.
    for await (const r of lease.leaseKeepAlive(three(), { signal: AbortSignal.timeout(20_000) }))
      ttls.push(r.TTL);
    expect(ttls).toEqual([30n, 30n, 30n]);
  });

  it("writes requests queued together in one go and hands every answer to deliverTo, in order, then ends", async () => {
    transport = createHttp2Transport({ baseUrl: cluster.endpoint });
    const lease = createClient(Lease, transport);
    const ids = await Promise.all(
      Array.from({ length: 50 }, async () => (await lease.leaseGrant({ TTL: 30n })).ID),
    );
    // A QueuedIterator input: the transport takes the 49 queued behind the first without waiting.
    const requests = new QueuedIterator<{ ID: bigint }>();
    for (const ID of ids) requests.push({ ID });
    const response = await transport.stream(
      Lease.method.leaseKeepAlive,
      AbortSignal.timeout(20_000),
      undefined,
      undefined,
      requests,
    );
    const answered: bigint[] = [];
    const pushed = pushedMessages<LeaseKeepAliveResponse>(response.message);
    expect(pushed).toBeDefined();
    pushed!.deliverTo((r) => {
      answered.push(r.ID);
      if (answered.length === ids.length) requests.end();
    });
    // With deliverTo, next() reports only the end: etcd ends LeaseKeepAlive with OK after the half-close.
    expect(await response.message[Symbol.asyncIterator]().next()).toEqual({ done: true, value: undefined });
    expect(answered).toEqual(ids);
  });

  it("resets the stream and fails the output when the request input throws", async () => {
    transport = createHttp2Transport({ baseUrl: cluster.endpoint });
    const requests = (async function* () {
      yield createWatch("input-throws");
      await new Promise((resolve) => setTimeout(resolve, 50));
      throw new Error("input broke");
    })();
    const error = await failure(
      (async () => {
        for await (const _ of createClient(Watch, transport).watch(requests)) {
          // The created response arrives first; then the input fails.
        }
      })(),
    );
    expect(error.rawMessage).toBe("input broke");
    // The transport is still usable.
    expect((await createClient(KV, transport).range({ key: enc.encode("input-throws") })).kvs).toHaveLength(
      0,
    );
  });

  it("completes a server stream (Snapshot) and fills the trailer when it ends", async () => {
    transport = createHttp2Transport({ baseUrl: cluster.endpoint });
    const response = await transport.stream(
      Maintenance.method.snapshot,
      undefined,
      undefined,
      undefined,
      (async function* () {
        yield {};
      })(),
    );
    expect(response.header.get("content-type")).toMatch(/^application\/grpc/);
    expect(response.trailer.get("grpc-status")).toBeNull();
    let bytes = 0;
    let last: bigint | undefined;
    for await (const message of response.message) {
      bytes += message.blob.length;
      last = message.remainingBytes;
    }
    expect(bytes).toBeGreaterThan(0);
    expect(last).toBe(0n);
    expect(response.trailer.get("grpc-status")).toBe("0");
  });

  it("fails running and queued calls on close(), and every call after it", async () => {
    transport = createHttp2Transport({ baseUrl: cluster.endpoint, maxConcurrentStreams: 1 });
    const kv = createClient(KV, transport);
    await kv.put({ key: enc.encode("closing"), value: enc.encode("1") });
    const watch = createClient(Watch, transport).watch(
      (async function* () {
        yield createWatch("closing");
        await new Promise(() => {});
      })(),
    );
    const iterator = watch[Symbol.asyncIterator]();
    expect(((await iterator.next()).value as WatchResponse).created).toBe(true);
    const cut = failure(iterator.next());
    // The watch holds the only stream, so this call waits in the queue.
    const queued = failure(kv.range({ key: enc.encode("closing") }));
    await transport.close();
    expect((await cut).code).toBe(Code.Unavailable);
    const neverSent = await queued;
    expect(neverSent.code).toBe(Code.Unavailable);
    expect(wasNotSent(neverSent)).toBe(true);
    const after = await failure(kv.range({ key: enc.encode("closing") }));
    expect(after.code).toBe(Code.Unavailable);
    expect(wasNotSent(after)).toBe(true);
    await transport.close();
  });

  it("reports a refused connection as Unavailable, marked not sent", async () => {
    const port = await freePort();
    transport = createHttp2Transport({ baseUrl: `http://127.0.0.1:${port}` });
    const error = await failure(
      createClient(KV, transport).put({ key: enc.encode("k"), value: enc.encode("v") }),
    );
    expect(error.code).toBe(Code.Unavailable);
    expect(wasNotSent(error)).toBe(true);
    expect(error.rawMessage).toContain("ECONNREFUSED");
  });

  it("gives up on a connection whose TLS handshake never completes, marked not sent", async () => {
    const accepted: Socket[] = [];
    const silent = createServer((socket) => accepted.push(socket));
    await new Promise<void>((resolve) => silent.listen(0, "127.0.0.1", resolve));
    try {
      const { port } = silent.address() as AddressInfo;
      transport = createHttp2Transport({ baseUrl: `https://127.0.0.1:${port}`, connectTimeoutMs: 300 });
      // The message names the 300 ms connect timeout as what ended it.
      const error = await within(
        failure(createClient(KV, transport).range({ key: enc.encode("k") })),
        "the connect timeout to fail the call",
      );
      expect(error.code).toBe(Code.Unavailable);
      expect(wasNotSent(error)).toBe(true);
      expect(error.rawMessage).toContain("within 300 ms");
    } finally {
      await transport.close();
      for (const socket of accepted) socket.destroy();
      await new Promise((resolve) => silent.close(resolve));
    }
  });

  it("sends nothing before the server's SETTINGS: a call aborted while waiting never reaches etcd", async () => {
    const proxy = await FaultProxy.start(cluster.endpoint);
    try {
      // etcd's SETTINGS never get through, while everything the client sends does.
      proxy.blackhole("server-to-client");
      transport = createHttp2Transport({
        baseUrl: proxy.url,
        maxConcurrentStreams: 1,
        connectTimeoutMs: 1_000,
      });
      const kv = createClient(KV, transport);
      const controller = new AbortController();
      const aborted = failure(
        kv.put(
          { key: enc.encode("before-settings"), value: enc.encode("1") },
          { signal: controller.signal, timeoutMs: 20_000 },
        ),
      );
      // The client connected and wrote its preface: without the wait, the put would follow it at once.
      await until("the client's first bytes", () => proxy.bytesFromClients > 0);
      controller.abort();
      const error = await aborted;
      expect(error.code).toBe(Code.Canceled);
      expect(wasNotSent(error)).toBe(true);
      // The aborted call gave its stream slot back: the next call gets it, waits for the connection and
      // fails at the connect timeout (a leaked slot would leave it queued until its deadline).
      const next = await failure(kv.range({ key: enc.encode("before-settings") }, { timeoutMs: 20_000 }));
      expect(next.code).toBe(Code.Unavailable);
      expect(wasNotSent(next)).toBe(true);
      expect(next.rawMessage).toContain("no HTTP/2 SETTINGS");
      proxy.heal();
      // Nothing of the aborted put reached etcd.
      const range = await kv.range({ key: enc.encode("before-settings") }, { timeoutMs: 20_000 });
      expect(range.kvs).toHaveLength(0);
    } finally {
      await transport.close();
      await proxy.close();
    }
  });

  it("gives up on a server that accepts TCP but never sends SETTINGS: unary and stream, marked not sent", async () => {
    const accepted: Socket[] = [];
    const silent = createServer((socket) => accepted.push(socket));
    await new Promise<void>((resolve) => silent.listen(0, "127.0.0.1", resolve));
    try {
      const { port } = silent.address() as AddressInfo;
      transport = createHttp2Transport({ baseUrl: `http://127.0.0.1:${port}`, connectTimeoutMs: 300 });
      // Deadlines far beyond the connect timeout: DeadlineExceeded would mean the calls waited for them.
      const unary = await failure(
        createClient(KV, transport).put(
          { key: enc.encode("k"), value: enc.encode("v") },
          { timeoutMs: 20_000 },
        ),
      );
      expect(unary.code).toBe(Code.Unavailable);
      expect(wasNotSent(unary)).toBe(true);
      expect(unary.rawMessage).toContain(
        "within 300 ms (connectTimeoutMs): the server sent no HTTP/2 SETTINGS",
      );
      const requests = new RequestQueue<WatchInit>();
      requests.push(createWatch("k"));
      const watch = createClient(Watch, transport).watch(requests, { timeoutMs: 20_000 });
      const stream = await failure(watch[Symbol.asyncIterator]().next());
      expect(stream.code).toBe(Code.Unavailable);
      expect(wasNotSent(stream)).toBe(true);
      expect(accepted.length).toBeGreaterThanOrEqual(2);
    } finally {
      await transport.close();
      for (const socket of accepted) socket.destroy();
      await new Promise((resolve) => silent.close(resolve));
    }
  });

  it.each(["calls-only", "ping-idle"])(
    "lets the process exit when the transport is idle and never closed (%s keepalive)",
    async (mode) => {
      const fixture = fileURLToPath(new URL("../fixtures/http2-idle-client.ts", import.meta.url));
      // A ref'd session or ping timer would keep the child alive forever: execFile then kills it at 25 s
      // and rejects. Exiting by itself, at any speed, is the proof.
      const { stdout } = await execFileAsync(process.execPath, [compiled(fixture), cluster.endpoint, mode], {
        timeout: 25_000,
      });
      expect(stdout).toContain("calls done: 1");
    },
    40_000,
  );

  it("rejects invalid metadata as InvalidArgument without sending", async () => {
    transport = createHttp2Transport({ baseUrl: cluster.endpoint });
    const error = await failure(
      createClient(KV, transport).range({ key: enc.encode("k") }, { headers: [["x-bad", "line\nbreak"]] }),
    );
    expect(error.code).toBe(Code.InvalidArgument);
    expect(wasNotSent(error)).toBe(true);
  });
});

/** Holds the only stream with a Watch, checks a Put waits (not fails) behind it, then frees the stream. */
async function expectQueuedBehindWatch(transport: Http2Transport): Promise<void> {
  const controller = new AbortController();
  const requests = new RequestQueue<WatchInit>();
  requests.push(createWatch("queued"));
  const iterator = createClient(Watch, transport)
    .watch(requests, { signal: controller.signal })
    [Symbol.asyncIterator]();
  expect(((await iterator.next()).value as WatchResponse).created).toBe(true);
  const watchEnd = failure(iterator.next());
  let finished = false;
  const put = createClient(KV, transport)
    .put({ key: enc.encode("queued"), value: enc.encode("1") })
    .then(() => {
      finished = true;
    });
  await new Promise((resolve) => setTimeout(resolve, 300));
  expect(finished).toBe(false);
  controller.abort();
  expect((await watchEnd).code).toBe(Code.Canceled);
  await put;
  expect(finished).toBe(true);
}

describe("http2 transport and the server's stream limit", () => {
  let cluster: EtcdCluster | undefined;
  let transport: Http2Transport | undefined;

  afterEach(async () => {
    await transport?.close();
    await cluster?.close();
  });

  it("queues calls above the server's SETTINGS_MAX_CONCURRENT_STREAMS instead of failing them", async () => {
    cluster = await startEtcd({ args: ["--max-concurrent-streams=1"] });
    transport = createHttp2Transport({ baseUrl: cluster.endpoint });
    await expectQueuedBehindWatch(transport);
  });
});

describe("http2 transport when the member fails", () => {
  let cluster: EtcdCluster | undefined;
  let transport: Http2Transport | undefined;

  afterEach(async () => {
    if (cluster?.members[0]?.frozen) cluster.members[0].thaw();
    await transport?.close();
    await cluster?.close();
    cluster = undefined;
    transport = undefined;
  });

  it("detects a frozen member with keepalive pings and fails calls with Unavailable", async () => {
    cluster = await startEtcd({ args: PERMISSIVE_KEEPALIVE });
    const member = cluster.members[0]!;
    const intervalMs = 400;
    const timeoutMs = 400;
    transport = createHttp2Transport({
      baseUrl: cluster.endpoint,
      keepaliveIntervalMs: intervalMs,
      keepaliveTimeoutMs: timeoutMs,
    });
    const kv = createClient(KV, transport);
    await kv.put({ key: enc.encode("frozen"), value: enc.encode("1") });
    await member.freeze();
    try {
      // No deadline on the call: the keepalive, named in the message, is what fails it.
      const error = await within(
        failure(kv.range({ key: enc.encode("frozen") })),
        "keepalive to fail the call",
      );
      expect(error.code).toBe(Code.Unavailable);
      expect(wasNotSent(error)).toBe(false);
      expect(error.rawMessage).toContain("keepalive");
    } finally {
      member.thaw();
    }
    // A fresh session serves the next call.
    expect((await kv.range({ key: enc.encode("frozen") })).kvs).toHaveLength(1);
  });

  it("checkConnection() pings the sessions that carry calls: false on a frozen member, tearing nothing down", async () => {
    cluster = await startEtcd();
    const member = cluster.members[0]!;
    transport = createHttp2Transport({ baseUrl: cluster.endpoint, keepaliveIntervalMs: 0 });
    // No call in flight: no session to check.
    expect(await transport.checkConnection(1000)).toBe(true);
    const requests = new RequestQueue<WatchInit>();
    requests.push(createWatch("checked"));
    const iterator = createClient(Watch, transport).watch(requests)[Symbol.asyncIterator]();
    expect((await iterator.next()).value?.created).toBe(true);
    expect(await transport.checkConnection(2000)).toBe(true);
    await member.freeze();
    try {
      // Keepalive is off: only the check's own 500 ms (after the PING leaves, 5.5 s after the last) judges.
      expect(await within(transport.checkConnection(500), "the check of a frozen member")).toBe(false);
    } finally {
      member.thaw();
    }
    // Nothing was torn down: the stream goes on.
    const kv = createClient(KV, transport);
    await kv.put({ key: enc.encode("checked"), value: enc.encode("1") });
    const next = await within(iterator.next(), "the event after the thaw");
    expect(next.value?.events).toHaveLength(1);
    requests.end();
  });

  it("times out a unary call on a frozen member with DeadlineExceeded (local timer)", async () => {
    cluster = await startEtcd();
    const member = cluster.members[0]!;
    transport = createHttp2Transport({ baseUrl: cluster.endpoint, keepaliveIntervalMs: 0 });
    const kv = createClient(KV, transport);
    await kv.range({ key: enc.encode("x") });
    await member.freeze();
    try {
      // Keepalive is off and the member sends nothing: only the local 300 ms timer can end the call.
      const error = await within(
        failure(kv.range({ key: enc.encode("x") }, { timeoutMs: 300 })),
        "the local deadline to fail the call",
      );
      expect(error.code).toBe(Code.DeadlineExceeded);
    } finally {
      member.thaw();
    }
  });

  it("fails a stream promptly when the member is killed, and reconnects after restart", async () => {
    cluster = await startEtcd();
    const member = cluster.members[0]!;
    transport = createHttp2Transport({ baseUrl: cluster.endpoint });
    const kv = createClient(KV, transport);
    const requests = new RequestQueue<WatchInit>();
    requests.push(createWatch("killed"));
    const iterator = createClient(Watch, transport).watch(requests)[Symbol.asyncIterator]();
    expect(((await iterator.next()).value as WatchResponse).created).toBe(true);
    const pending = failure(iterator.next());
    await member.kill();
    // Promptly: from the closed connection, not the keepalive (30 s by default), which the guard is below.
    const error = await within(pending, "the watch to fail after the kill", 15_000);
    expect(error.code).toBe(Code.Unavailable);
    const down = await failure(kv.range({ key: enc.encode("killed") }));
    expect(down.code).toBe(Code.Unavailable);
    expect(wasNotSent(down)).toBe(true);
    await member.restart();
    await kv.put({ key: enc.encode("killed"), value: enc.encode("back") });
    expect(dec.decode((await kv.range({ key: enc.encode("killed") })).kvs[0]!.value)).toBe("back");
  });

  it("moves new calls to a fresh session after a graceful stop (GOAWAY)", async () => {
    cluster = await startEtcd();
    const member = cluster.members[0]!;
    transport = createHttp2Transport({ baseUrl: cluster.endpoint });
    const kv = createClient(KV, transport);
    await kv.put({ key: enc.encode("goaway"), value: enc.encode("1") });
    await member.stop();
    const down = await failure(kv.range({ key: enc.encode("goaway") }));
    expect(down.code).toBe(Code.Unavailable);
    await member.restart();
    expect((await kv.range({ key: enc.encode("goaway") })).kvs).toHaveLength(1);
  });
});

describe("http2 transport over TLS", () => {
  let certs: Certificates;
  let cluster: EtcdCluster | undefined;
  let transport: Http2Transport | undefined;

  beforeAll(async () => {
    certs = await generateCertificates();
  });
  afterEach(async () => {
    await transport?.close();
    await cluster?.close();
    cluster = undefined;
    transport = undefined;
  });
  afterAll(async () => {
    await rm(certs.dir, { recursive: true, force: true });
  });

  async function startSecureEtcd(clientCertAuth: boolean): Promise<string> {
    cluster = await startEtcd({ tls: { certificates: certs, clientCertAuth } });
    return cluster.endpoint;
  }

  it("talks to an https member that it trusts through the given CA", async () => {
    const url = await startSecureEtcd(false);
    transport = createHttp2Transport({ baseUrl: url, tls: { ca: certs.ca } });
    const kv = createClient(KV, transport);
    await kv.put({ key: enc.encode("tls"), value: enc.encode("secure") });
    expect(dec.decode((await kv.range({ key: enc.encode("tls") })).kvs[0]!.value)).toBe("secure");

    const untrusting = createHttp2Transport({ baseUrl: url });
    try {
      const error = await failure(createClient(KV, untrusting).range({ key: enc.encode("tls") }));
      expect(error.code).toBe(Code.Unavailable);
      expect(wasNotSent(error)).toBe(true);
    } finally {
      await untrusting.close();
    }
  });

  it("authenticates with a client certificate (mTLS) and fails without one", async () => {
    const url = await startSecureEtcd(true);
    const { ca } = certs;
    transport = createHttp2Transport({
      baseUrl: url,
      tls: { ca, cert: certs.clientCert, key: certs.clientKey },
    });
    const kv = createClient(KV, transport);
    await kv.put({ key: enc.encode("mtls"), value: enc.encode("mutual") });
    expect(dec.decode((await kv.range({ key: enc.encode("mtls") })).kvs[0]!.value)).toBe("mutual");

    // With TLS 1.3 the client's handshake completes before the server refuses it (an alert): the call,
    // waiting for the server's SETTINGS, must fail on that alert, not at its deadline or connect timeout.
    const anonymous = createHttp2Transport({ baseUrl: url, tls: { ca }, connectTimeoutMs: 60_000 });
    try {
      const error = await failure(
        createClient(KV, anonymous).range({ key: enc.encode("mtls") }, { timeoutMs: 20_000 }),
      );
      expect(error.code).toBe(Code.Unavailable);
      expect(wasNotSent(error)).toBe(true);
      expect(error.rawMessage).toContain("could not connect to");
    } finally {
      await anonymous.close();
    }
  });
});
