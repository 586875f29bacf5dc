import { create, type MessageInitShape } from "@bufbuild/protobuf";
import { Code, ConnectError } from "@connectrpc/connect";
import { describe, expect, it } from "vitest";
import { Watch, WatchRequestSchema, type WatchResponse } from "../../../gen/etcdserverpb/rpc_pb.js";
import { QueuedIterator } from "../../core/queued-iterator.js";
import { createGatewayTransport } from "./transport.js";

type WatchInit = MessageInitShape<typeof WatchRequestSchema>;

/** One request the fake gateway got: its body, its signal, and the lines it answers with. */
interface Served {
  readonly path: string;
  readonly body: string;
  readonly signal: AbortSignal;
  line(json: unknown): void;
  /** Answers with one JSON body (a unary call's). */
  json(json: unknown): void;
  end(): void;
}

/** A `fetch` that answers each request with a stream the test writes lines to. */
function fakeGateway() {
  const served: Served[] = [];
  const enc = new TextEncoder();
  const fetch = async (url: string, init: RequestInit): Promise<Response> => {
    let controller!: ReadableStreamDefaultController<Uint8Array>;
    const body = new ReadableStream<Uint8Array>({
      start(c) {
        controller = c;
      },
    });
    const signal = init.signal as AbortSignal;
    signal.addEventListener("abort", () => controller.error(new DOMException("aborted", "AbortError")));
    served.push({
      path: new URL(url).pathname,
      body: init.body as string,
      signal,
      line: (json) => controller.enqueue(enc.encode(`${JSON.stringify({ result: json })}\n`)),
      json: (json) => {
        controller.enqueue(enc.encode(JSON.stringify(json)));
        controller.close();
      },
      end: () => controller.close(),
    });
    return new Response(body, { status: 200 });
  };
  return { served, fetch };
}

async function open(fetch: ReturnType<typeof fakeGateway>["fetch"]) {
  const transport = createGatewayTransport({ baseUrl: "http://gateway.test", fetch });
  const input = new QueuedIterator<WatchInit>();
  const abort = new AbortController();
  const res = await transport.stream(Watch.method.watch, abort.signal, undefined, undefined, input);
  const messages = res.message[Symbol.asyncIterator]();
  const next = async (): Promise<WatchResponse> => {
    const r = await messages.next();
    if (r.done) throw new Error("ended");
    return r.value;
  };
  return { input, abort, next, messages, transport };
}

const createReq = (key: string): WatchInit => ({
  requestUnion: { case: "createRequest", value: { key: new TextEncoder().encode(key) } },
});
const until = async (check: () => boolean) => {
  while (!check()) await new Promise((r) => setTimeout(r, 1));
};

describe("the Watch stream over the gateway", () => {
  it("sends each create as its own request and answers the creates in order, under ids of its own", async () => {
    const gw = fakeGateway();
    const s = await open(gw.fetch);
    s.input.push(createReq("a"));
    s.input.push(createReq("b"));
    await until(() => gw.served.length === 2);
    expect(JSON.parse(gw.served[0]!.body)).toEqual({ create_request: { key: "YQ==" } });
    // The second request answers first: its created waits for the first one's.
    gw.served[1]!.line({ created: true, header: { revision: "5" } });
    gw.served[0]!.line({ created: true, header: { revision: "4" } });
    const first = await s.next();
    const second = await s.next();
    expect([first.created, first.watchId, first.header?.revision]).toEqual([true, 0n, 4n]);
    expect([second.created, second.watchId, second.header?.revision]).toEqual([true, 1n, 5n]);
    // Every server watch is id 0 on its own request: events carry the stream's ids.
    gw.served[1]!.line({ events: [{ kv: { key: "Yg==", mod_revision: "6" } }] });
    const event = await s.next();
    expect(event.watchId).toBe(1n);
    expect(event.events[0]!.kv!.modRevision).toBe(6n);
    s.abort.abort();
  });

  it("a cancel aborts that watch's request and answers canceled; the other watch goes on", async () => {
    const gw = fakeGateway();
    const s = await open(gw.fetch);
    s.input.push(createReq("a"));
    s.input.push(createReq("b"));
    await until(() => gw.served.length === 2);
    gw.served[0]!.line({ created: true });
    gw.served[1]!.line({ created: true });
    await s.next();
    await s.next();
    s.input.push({ requestUnion: { case: "cancelRequest", value: { watchId: 0n } } });
    const canceled = await s.next();
    expect([canceled.watchId, canceled.canceled]).toEqual([0n, true]);
    expect(gw.served[0]!.signal.aborted).toBe(true);
    gw.served[1]!.line({ events: [{ kv: { key: "Yg==" } }] });
    expect((await s.next()).watchId).toBe(1n);
    s.abort.abort();
  });

  it("answers a progress request with the store's revision from a Status call, as a notice (id -1)", async () => {
    const gw = fakeGateway();
    const s = await open(gw.fetch);
    expect(s.transport.watchProgressComplete).toBe(false);
    s.input.push(createReq("a"));
    await until(() => gw.served.length === 1);
    gw.served[0]!.line({ created: true });
    await s.next();
    s.input.push(create(WatchRequestSchema, { requestUnion: { case: "progressRequest", value: {} } }));
    await until(() => gw.served.length === 2);
    expect(gw.served[1]!.path).toBe("/v3/maintenance/status");
    gw.served[1]!.json({ header: { revision: "42" }, version: "3.6.17" });
    const notice = await s.next();
    expect([notice.watchId, notice.header?.revision, notice.events.length]).toEqual([-1n, 42n, 0]);
    s.abort.abort();
  });

  it("a watch whose request ends fails the stream with UNAVAILABLE", async () => {
    const gw = fakeGateway();
    const s = await open(gw.fetch);
    s.input.push(createReq("a"));
    await until(() => gw.served.length === 1);
    gw.served[0]!.line({ created: true });
    await s.next();
    gw.served[0]!.end();
    const error = await s.messages.next().then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(ConnectError);
    expect((error as ConnectError).code).toBe(Code.Unavailable);
  });

  it("the caller's abort ends the stream with CANCELED and aborts every request", async () => {
    const gw = fakeGateway();
    const s = await open(gw.fetch);
    s.input.push(createReq("a"));
    await until(() => gw.served.length === 1);
    gw.served[0]!.line({ created: true });
    await s.next();
    const pending = s.messages.next();
    s.abort.abort();
    const error = await pending.then(
      () => undefined,
      (e: unknown) => e,
    );
    expect((error as ConnectError).code).toBe(Code.Canceled);
    expect(gw.served[0]!.signal.aborted).toBe(true);
  });
});

describe("a stream's deadline over the gateway", () => {
  it("ends the stream with DEADLINE_EXCEEDED", async () => {
    const gw = fakeGateway();
    const transport = createGatewayTransport({ baseUrl: "http://gateway.test", fetch: gw.fetch });
    const input = new QueuedIterator<WatchInit>();
    input.push(createReq("a"));
    const res = await transport.stream(Watch.method.watch, undefined, 50, undefined, input);
    const error = await (async () => {
      for await (const _ of res.message) {
        // nothing comes: the fake never answers
      }
    })().then(
      () => undefined,
      (e: unknown) => e,
    );
    expect((error as ConnectError).code).toBe(Code.DeadlineExceeded);
    expect(gw.served[0]!.signal.aborted).toBe(true);
  });
});
