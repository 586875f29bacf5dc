import type { MessageInitShape } from "@bufbuild/protobuf";
import { Code, ConnectError, createClient } from "@connectrpc/connect";
import { afterAll, afterEach, beforeAll, describe, expect, test } from "vitest";
import { wasNotSent } from "../../src/client/core/failure.js";
import { KV, Watch, type WatchRequestSchema } from "../../src/gen/etcdserverpb/rpc_pb.js";
import { type EtcdCluster, startEtcd } from "../../src/testing/index.js";
import { expectConnectError } from "../support/expect-error.js";
import { Pushable } from "../support/pushable.js";
import { type ClosableTransport, transports } from "../support/transports.js";
import { until, within } from "../support/wait.js";

const te = new TextEncoder();
type WatchInit = MessageInitShape<typeof WatchRequestSchema>;

/** Opens a Watch on `key` and waits for its created response; returns the response iterator. */
async function openWatch(transport: ClosableTransport, key: Uint8Array, signal: AbortSignal) {
  const input = new Pushable<WatchInit>();
  input.push({ requestUnion: { case: "createRequest", value: { key } } });
  const responses = createClient(Watch, transport).watch(input, { signal })[Symbol.asyncIterator]();
  const first = await responses.next();
  expect(first.done === false && first.value.created).toBe(true);
  return { responses, input };
}

async function rejection(promise: Promise<unknown>): Promise<ConnectError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(ConnectError);
  return error as ConnectError;
}

describe.each(transports)("faults over $name", (factory) => {
  let etcd: EtcdCluster;
  const opened: ClosableTransport[] = [];
  const open = (options: { keepaliveIntervalMs?: number; keepaliveTimeoutMs?: number } = {}) => {
    const transport = factory.create({ baseUrl: etcd.endpoint, ...options });
    opened.push(transport);
    return transport;
  };
  beforeAll(async () => {
    // etcd answers pings more frequent than --grpc-keepalive-min-time (default 5 s) with GOAWAY.
    etcd = await startEtcd({ args: ["--grpc-keepalive-min-time=500ms"] });
  });
  afterEach(async () => {
    const member = etcd.members[0]!;
    if (member.frozen) member.thaw();
    await Promise.all(opened.splice(0).map((t) => t.close()));
  });
  afterAll(async () => {
    await etcd?.close();
  });

  test("aborting a unary call that the (frozen) server never answers fails it with Canceled", async () => {
    const transport = open();
    const kv = createClient(KV, transport);
    await kv.put({ key: te.encode("f"), value: te.encode("1") });
    await etcd.members[0]!.freeze();
    const abort = new AbortController();
    const pending = kv.range({ key: te.encode("f") }, { signal: abort.signal });
    // Let the request leave (the outcome is the same if it has not).
    await new Promise((resolve) => setTimeout(resolve, 200));
    abort.abort();
    // Nothing else ends it: no deadline, and no keepalive at a default transport's settings (off, or 30 s).
    const error = await within(rejection(pending), "the aborted range to fail");
    expect(error.code).toBe(Code.Canceled);
  });

  test("DeadlineExceeded when a frozen server does not answer in time", async () => {
    const transport = open();
    const kv = createClient(KV, transport);
    await kv.range({ key: te.encode("f") });
    await etcd.members[0]!.freeze();
    // DeadlineExceeded can only come from the 300 ms deadline (the frozen server sends nothing).
    await within(
      expectConnectError(kv.range({ key: te.encode("f") }, { timeoutMs: 300 }), Code.DeadlineExceeded),
      "the range to hit its deadline",
    );
  });

  test("keepalive: in-flight calls on a frozen server fail with Unavailable within seconds", async () => {
    const transport = open({ keepaliveIntervalMs: 1_000, keepaliveTimeoutMs: 1_000 });
    const abort = new AbortController();
    try {
      const { responses } = await openWatch(transport, te.encode("frozen"), abort.signal);
      await etcd.members[0]!.freeze();
      // Neither call has a deadline: only the keepalive (1 s + 1 s here) fails them.
      const [watchError, rangeError] = await within(
        Promise.all([
          rejection(responses.next()),
          rejection(createClient(KV, transport).range({ key: te.encode("frozen") })),
        ]),
        "keepalive to fail the calls on the frozen server",
      );
      expect([watchError.code, rangeError.code]).toEqual([Code.Unavailable, Code.Unavailable]);
    } finally {
      abort.abort();
    }
  });

  test("a killed server fails a Watch promptly with Unavailable; after restart the same transport works", async () => {
    const transport = open();
    const abort = new AbortController();
    const member = etcd.members[0]!;
    try {
      const { responses } = await openWatch(transport, te.encode("killed"), abort.signal);
      const pending = rejection(responses.next());
      await member.kill();
      // "Promptly": from the closed connection (these transports' default keepalive is off, or 30 s).
      const error = await within(pending, "the watch to fail after the kill", 15_000);
      expect(error.code).toBe(Code.Unavailable);

      // With the member down, a call cannot connect: Unavailable, marked as never sent.
      const down = await rejection(createClient(KV, transport).range({ key: te.encode("killed") }));
      expect(down.code).toBe(Code.Unavailable);
      expect(wasNotSent(down)).toBe(true);

      await member.restart({ kill: true });
      // grpc-js may still sit in its reconnect backoff (at most 2 s with our defaults) and fail fast;
      // such failures must be Unavailable and marked never-sent, so the client layer can retry them.
      await until(
        "a range to succeed after the restart",
        async () => {
          try {
            const range = await createClient(KV, transport).range({ key: te.encode("f") });
            expect(range.count).toBe(1n);
            return true;
          } catch (e) {
            expect(e).toBeInstanceOf(ConnectError);
            expect([(e as ConnectError).code, wasNotSent(e)]).toEqual([Code.Unavailable, true]);
            return false;
          }
        },
        20_000,
        100,
      );
    } finally {
      abort.abort();
    }
  });
});
