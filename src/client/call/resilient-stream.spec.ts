import type { MessageInitShape, MessageShape } from "@bufbuild/protobuf";
import { Code, ConnectError } from "@connectrpc/connect";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { Watch, type WatchRequestSchema, type WatchResponseSchema } from "../../gen/etcdserverpb/rpc_pb.js";
import { AuthFailedError, type EtcdError } from "../core/errors.js";
import { QueuedIterator } from "../core/queued-iterator.js";
import { SILENT_CHANNELS } from "../diagnostics/channels.js";
import type { ClosableTransport } from "../transport/closable-transport.js";
import { ConnectionPool } from "./pool.js";
import { type LiveStream, ResilientStream, type StreamOwner } from "./resilient-stream.js";

type Req = MessageInitShape<typeof WatchRequestSchema>;
type Res = MessageShape<typeof WatchResponseSchema>;

const A = "http://127.0.0.1:1";
const B = "http://127.0.0.1:2";

/** One stream a fake transport opened: its endpoint, the requests it reads, the answers it gives. */
interface FakeStream {
  endpoint: string;
  requests: AsyncIterator<Req>;
  answers: QueuedIterator<Res>;
  signal: AbortSignal;
}

/**
 * A pool over fake transports whose streams are {@link FakeStream}s; `refuse` makes the next opens
 * fail with that error. Aborting a stream's signal ends its answers, as a real transport does.
 */
function fakeNetwork() {
  const streams: FakeStream[] = [];
  const failed: string[] = [];
  let refuse: Error | undefined;
  const pool = new ConnectionPool(
    [A, B].map((url) => ({ url, secure: false, tls: undefined })),
    {
      cooldownMs: 60_000,
      factory: (endpoint) =>
        ({
          unary: () => Promise.reject(new Error("no calls here")),
          async stream(
            _m: unknown,
            signal: AbortSignal,
            _t: unknown,
            _h: unknown,
            input: AsyncIterable<Req>,
          ) {
            if (refuse) throw refuse;
            const answers = new QueuedIterator<Res>();
            signal.addEventListener("abort", () => answers.end(new ConnectError("canceled", Code.Canceled)));
            streams.push({
              endpoint: endpoint.url,
              requests: input[Symbol.asyncIterator](),
              answers,
              signal,
            });
            return { message: answers };
          },
          close: async () => {},
        }) as unknown as ClosableTransport,
      auth: undefined,
      timeoutMs: 1000,
      requireLeader: false,
      diagnostics: SILENT_CHANNELS,
    },
  );
  const markFailed = pool.markFailed.bind(pool);
  pool.markFailed = (endpoint, error) => {
    failed.push(endpoint);
    markFailed(endpoint, error);
  };
  return {
    pool,
    streams,
    failed,
    refuse: (error: Error | undefined) => {
      refuse = error;
    },
  };
}

/** An owner that records what the stream told it; `opened` sends `firstRequest` when given. */
function fakeOwner(firstRequest?: Req) {
  const log = {
    wanted: true,
    opened: 0,
    ended: [] as LiveStream<typeof WatchRequestSchema>[],
    received: [] as Res[],
    failed: [] as EtcdError[],
  };
  const owner: StreamOwner<typeof WatchRequestSchema, typeof WatchResponseSchema> = {
    wanted: () => log.wanted,
    opened(stream) {
      log.opened++;
      if (firstRequest) stream.send(firstRequest);
    },
    received: (_stream, message) => log.received.push(message),
    ended: (stream) => log.ended.push(stream),
    failed(error) {
      log.failed.push(error);
      log.wanted = false;
    },
  };
  return { owner, log };
}

const settings = { backoff: { initialMs: 1000, maxMs: 1000 }, idleTimeoutMs: 0, answerTimeoutMs: 1000 };
const progress: Req = { requestUnion: { case: "progressRequest", value: {} } };

/** Lets promises and timers due by `ms` (fake time) run. */
const pass = (ms = 0) => vi.advanceTimersByTimeAsync(ms);

describe("ResilientStream", () => {
  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it("opens a stream once woken while its owner wants one; requests go out, answers reach the owner", async () => {
    const net = fakeNetwork();
    const { owner, log } = fakeOwner(progress);
    const rs = new ResilientStream(net.pool, Watch.method.watch, owner, settings);
    await pass();
    expect(net.streams).toHaveLength(0);
    rs.wake();
    await pass();
    expect(net.streams.map((s) => s.endpoint)).toEqual([A]);
    expect(log.opened).toBe(1);
    const first = await net.streams[0]!.requests.next();
    expect(first.value).toEqual(progress);
    const answer = { watchId: 3n } as Res;
    net.streams[0]!.answers.push(answer);
    await pass();
    expect(log.received).toEqual([answer]);
    await rs.close();
  });

  it("reopens a stream the server ended on the next endpoint, after the backoff, marking the first failed", async () => {
    const net = fakeNetwork();
    const { owner, log } = fakeOwner();
    const rs = new ResilientStream(net.pool, Watch.method.watch, owner, settings);
    rs.wake();
    await pass();
    const live = rs.live;
    net.streams[0]!.answers.end();
    await pass();
    expect(log.ended).toEqual([live]);
    expect(net.failed).toEqual([A]);
    // The backoff (initialMs 1000, jittered to 500..1000 ms) holds the next open back.
    await pass(499);
    expect(net.streams).toHaveLength(1);
    await pass(501);
    expect(net.streams.map((s) => s.endpoint)).toEqual([A, B]);
    expect(log.opened).toBe(2);
    await rs.close();
  });

  it("gives a request unanswered for the answer timeout up as dead ('answers' liveness)", async () => {
    const net = fakeNetwork();
    const { owner, log } = fakeOwner(progress);
    const rs = new ResilientStream(net.pool, Watch.method.watch, owner, settings);
    rs.wake();
    await pass(900);
    expect(net.streams[0]!.signal.aborted).toBe(false);
    await pass(400);
    expect(net.streams[0]!.signal.aborted).toBe(true);
    expect(log.ended).toHaveLength(1);
    expect(net.failed).toEqual([A]);
    await rs.close();
  });

  it("keeps a stream whose requests are answered", async () => {
    const net = fakeNetwork();
    const { owner } = fakeOwner(progress);
    const rs = new ResilientStream(net.pool, Watch.method.watch, owner, settings);
    rs.wake();
    await pass(500);
    net.streams[0]!.answers.push({ watchId: 1n } as Res);
    await pass(5000);
    expect(net.streams).toHaveLength(1);
    expect(net.streams[0]!.signal.aborted).toBe(false);
    await rs.close();
  });

  it("ends the owner's work on wrong credentials, without blaming the endpoint or reopening", async () => {
    const net = fakeNetwork();
    net.refuse(new ConnectError("etcdserver: authentication failed, invalid user ID or password"));
    const { owner, log } = fakeOwner();
    const rs = new ResilientStream(net.pool, Watch.method.watch, owner, settings);
    rs.wake();
    await pass(10_000);
    expect(log.failed).toHaveLength(1);
    expect(log.failed[0]).toBeInstanceOf(AuthFailedError);
    expect(log.opened).toBe(1);
    expect(net.failed).toEqual([]);
    await rs.close();
  });

  it("ends the stream on close and opens none after", async () => {
    const net = fakeNetwork();
    const { owner, log } = fakeOwner();
    const rs = new ResilientStream(net.pool, Watch.method.watch, owner, settings);
    rs.wake();
    await pass();
    await rs.close();
    expect(net.streams[0]!.signal.aborted).toBe(true);
    expect(log.ended).toHaveLength(1);
    expect(rs.live).toBeUndefined();
    expect(net.failed).toEqual([]);
    rs.wake();
    await pass(10_000);
    expect(net.streams).toHaveLength(1);
  });
});
