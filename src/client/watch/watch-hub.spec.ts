import { create, type MessageInitShape } from "@bufbuild/protobuf";
import { afterEach, describe, expect, it } from "vitest";
import {
  RangeResponseSchema,
  type WatchRequestSchema,
  type WatchResponse,
  WatchResponseSchema,
} from "../../gen/etcdserverpb/rpc_pb.js";
import { Event_EventType, EventSchema } from "../../gen/mvccpb/kv_pb.js";
import type { ConnectionPool } from "../call/pool.js";
import type { LiveStream } from "../call/resilient-stream.js";
import { ProcessRef } from "../core/process-ref.js";
import { SILENT_CHANNELS } from "../diagnostics/channels.js";
import { Namespace } from "../namespace/namespace.js";
import { WatchCanceledError } from "./errors.js";
import type { WatchBatch } from "./types.js";
import { type RangeReader, WatchHub } from "./watch-hub.js";

// The hub as its ResilientStream drives it (opened / received / ended), with a fake stream that records
// what the hub sends. The pool refuses to pick, so the stream loop never opens a real stream. The hub
// against real etcd, every version, is covered in test/watch and test/client.

type Sent = MessageInitShape<typeof WatchRequestSchema>;

/** A stream stand-in: what was sent, and how the hub asked to reopen it. */
class FakeStream {
  readonly endpoint = "http://fake:2379";
  readonly server = { known: undefined, version: async () => undefined };
  readonly signal = new AbortController().signal;
  readonly sent: Sent[] = [];
  reauthenticated = 0;
  tokenRefusals: string[] = [];
  send(request: Sent): void {
    this.sent.push(request);
  }
  healthy(): void {}
  reauthenticate(): void {
    this.reauthenticated++;
  }
  tokenRefused(reason: string): void {
    this.tokenRefusals.push(reason);
  }
  /** The creates sent so far: key as text and start revision. */
  creates(): { key: string; startRevision: bigint }[] {
    const out: { key: string; startRevision: bigint }[] = [];
    for (const r of this.sent) {
      const u = r.requestUnion;
      if (u?.case === "createRequest")
        out.push({ key: new TextDecoder().decode(u.value.key), startRevision: u.value.startRevision ?? 0n });
    }
    return out;
  }
  /** The watch ids canceled so far. */
  cancels(): bigint[] {
    const out: bigint[] = [];
    for (const r of this.sent)
      if (r.requestUnion?.case === "cancelRequest") out.push(r.requestUnion.value.watchId ?? 0n);
    return out;
  }
  get live(): LiveStream<typeof WatchRequestSchema> {
    // The hub uses only the members above.
    return this as unknown as LiveStream<typeof WatchRequestSchema>;
  }
}

const refusingPool = {
  pick() {
    throw new Error("no pool in this spec");
  },
  diagnostics: SILENT_CHANNELS,
} as unknown as ConnectionPool;

const SETTINGS = {
  backoff: { initialMs: 1, maxMs: 1 },
  idleTimeoutMs: 0,
  answerTimeoutMs: 60_000,
  maxBufferedEvents: 100,
  unlimitedListeners: () => {},
};

const hubs: WatchHub[] = [];
afterEach(async () => {
  await Promise.all(hubs.splice(0).map((h) => h.close()));
});

function hub(readRange: RangeReader = () => Promise.reject(new Error("no read")), maxBufferedEvents = 100) {
  const h = new WatchHub(refusingPool, { ...SETTINGS, maxBufferedEvents }, readRange, new ProcessRef());
  hubs.push(h);
  return h;
}

const created = (watchId: bigint, revision: bigint): WatchResponse =>
  create(WatchResponseSchema, { watchId, created: true, header: { revision } });

const put = (key: string, modRevision: bigint) =>
  create(EventSchema, {
    type: Event_EventType.PUT,
    kv: { key: new TextEncoder().encode(key), value: new TextEncoder().encode("v"), modRevision },
  });

const events = (watchId: bigint, revision: bigint, ...evs: ReturnType<typeof put>[]): WatchResponse =>
  create(WatchResponseSchema, { watchId, header: { revision }, events: evs });

/** Collects a watch's batches through its event face. */
function collect(w: { on(e: "batch", l: (b: WatchBatch) => void): unknown }): WatchBatch[] {
  const got: WatchBatch[] = [];
  w.on("batch", (b) => got.push(b));
  return got;
}

const tick = () => new Promise((r) => setTimeout(r, 0));

describe("WatchHub", () => {
  it("sends creates one at a time, in order, on one stream, and matches answers by position", () => {
    const h = hub();
    const a = h.watch("a");
    const b = h.watch("b", { startRevision: 5 });
    const s = new FakeStream();
    h.opened(s.live);
    expect(s.creates()).toEqual([{ key: "a", startRevision: 0n }]);
    expect([a.state, b.state]).toEqual(["creating", "creating"]);
    h.received(s.live, created(7n, 10n));
    expect(a.state).toBe("active");
    // From now: the server watches from header + 1.
    expect(a.nextRevision).toBe(11n);
    expect(s.creates()).toEqual([
      { key: "a", startRevision: 0n },
      { key: "b", startRevision: 5n },
    ]);
    h.received(s.live, created(8n, 10n));
    expect(b.state).toBe("active");
    expect(b.nextRevision).toBe(5n);
  });

  it("resumes every watch from its own next revision after a break, and drops what a replay repeats", async () => {
    const h = hub();
    const w = h.watch("k");
    const got = collect(w);
    const s1 = new FakeStream();
    h.opened(s1.live);
    h.received(s1.live, created(1n, 10n));
    h.received(s1.live, events(1n, 13n, put("k", 12n), put("k", 13n)));
    expect(w.nextRevision).toBe(14n);
    h.ended(s1.live);
    expect(w.state).toBe("disconnected");
    const s2 = new FakeStream();
    h.opened(s2.live);
    expect(s2.creates()).toEqual([{ key: "k", startRevision: 14n }]);
    h.received(s2.live, created(4n, 20n));
    // A server replaying from before the resume point: 13 was delivered already.
    h.received(s2.live, events(4n, 14n, put("k", 13n), put("k", 14n)));
    await tick();
    expect(got.flatMap((b) => b.events.map((e) => e.kv.modRevision))).toEqual([12n, 13n, 14n]);
    expect(w.nextRevision).toBe(15n);
    // The answer of the old stream is ignored.
    h.received(s1.live, events(1n, 30n, put("k", 30n)));
    expect(w.nextRevision).toBe(15n);
  });

  it("pauses a watch over its buffer bound (canceled on the server) and re-creates it from its resume point once drained", async () => {
    const h = hub(undefined, 1);
    const w = h.watch("p");
    const s = new FakeStream();
    h.opened(s.live);
    h.received(s.live, created(3n, 10n));
    h.received(s.live, events(3n, 11n, put("p", 11n)));
    h.received(s.live, events(3n, 12n, put("p", 12n)));
    expect(w.state).toBe("paused");
    expect(s.cancels()).toEqual([3n]);
    expect(w.bufferedEvents).toBe(2);
    const iterator = w[Symbol.asyncIterator]();
    expect((await iterator.next()).value?.revision).toBe(11n);
    expect((await iterator.next()).value?.revision).toBe(12n);
    expect(w.state).toBe("creating");
    expect(s.creates().at(-1)).toEqual({ key: "p", startRevision: 13n });
    // A late answer of the canceled id is dropped.
    h.received(s.live, events(3n, 13n, put("p", 13n)));
    expect(w.bufferedEvents).toBe(0);
    await iterator.return?.();
  });

  it('gives a "permission denied" create one reopen, and fails the watch when a fresh stream refuses it again', async () => {
    const h = hub();
    const w = h.watch("secret");
    const s1 = new FakeStream();
    h.opened(s1.live);
    const denied = create(WatchResponseSchema, {
      watchId: -1n,
      created: true,
      canceled: true,
      cancelReason: "etcdserver: permission denied",
    });
    h.received(s1.live, denied);
    expect(s1.reauthenticated).toBe(1);
    expect(w.state).toBe("creating");
    h.ended(s1.live);
    const s2 = new FakeStream();
    h.opened(s2.live);
    h.received(s2.live, denied);
    expect(s2.reauthenticated).toBe(0);
    // Ended synchronously: checked before awaiting, so a hub that missed it fails here, not by a hang.
    expect(w.state).toBe("closed");
    expect(await w.closed).toBeInstanceOf(WatchCanceledError);
    expect(h.size).toBe(0);
  });

  it("resyncs a watch canceled by a compaction: reads its range, delivers it, and watches on after the read", async () => {
    const reads: { key: string; rangeEnd: string }[] = [];
    const h = hub(async (request) => {
      reads.push({
        key: new TextDecoder().decode(request.key ?? new Uint8Array(0)),
        rangeEnd: new TextDecoder().decode(request.rangeEnd ?? new Uint8Array(0)),
      });
      return create(RangeResponseSchema, {
        header: { revision: 40n },
        kvs: [{ key: new TextEncoder().encode("ns/r/x"), modRevision: 35n }],
      });
    });
    const ns = Namespace.of("ns/");
    const w = h.watch({ prefix: "r/" }, { onCompacted: "resync" }, ns);
    const got = collect(w);
    const s = new FakeStream();
    h.opened(s.live);
    h.received(s.live, created(9n, 10n));
    h.received(s.live, create(WatchResponseSchema, { watchId: 9n, canceled: true, compactRevision: 30n }));
    await tick();
    expect(reads).toEqual([{ key: "ns/r/", rangeEnd: "ns/r0" }]);
    expect(got.map((b) => b.resync?.map((kv) => kv.keyText()))).toEqual([["r/x"]]);
    expect(w.nextRevision).toBe(41n);
    expect(s.creates().at(-1)).toEqual({ key: "ns/r/", startRevision: 41n });
  });

  it("strips a namespace view's prefix from events, and answers a progress request to every active watch without moving it", async () => {
    const h = hub();
    const w = h.watch("k", {}, Namespace.of("app/"));
    const got = collect(w);
    const s = new FakeStream();
    h.opened(s.live);
    h.received(s.live, created(2n, 10n));
    h.received(s.live, events(2n, 11n, put("app/k", 11n)));
    h.received(s.live, create(WatchResponseSchema, { watchId: -1n, header: { revision: 50n } }));
    await tick();
    expect(got.map((b) => [b.progress === true, b.events.map((e) => e.kv.keyText())])).toEqual([
      [false, ["k"]],
      [true, []],
    ]);
    expect(w.nextRevision).toBe(12n);
  });
});
