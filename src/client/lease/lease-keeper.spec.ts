import { create, type MessageInitShape } from "@bufbuild/protobuf";
import { afterEach, describe, expect, it, vi } from "vitest";
import {
  type LeaseKeepAliveRequestSchema,
  type LeaseKeepAliveResponse,
  LeaseKeepAliveResponseSchema,
} from "../../gen/etcdserverpb/rpc_pb.js";
import type { ConnectionPool } from "../call/pool.js";
import type { LiveStream } from "../call/resilient-stream.js";
import { EtcdError } from "../core/errors.js";
import { ProcessRef } from "../core/process-ref.js";
import { SILENT_CHANNELS } from "../diagnostics/channels.js";
import { LeaseLostError, LeasesClosedError } from "./errors.js";
import { Lease, type LeaseKeepAliveEvent, type LeaseOwner } from "./lease.js";
import { LeaseKeeper } from "./lease-keeper.js";

// The keeper as its ResilientStream drives it (opened / received / ended / failed), with a fake stream
// that records the keepalives sent. The pool refuses to pick, so the stream loop never opens a real
// stream; leases are long (an hour), so no refresh or loss deadline comes due during a test. Keepalives
// against real etcd, every version, are covered in test/lease and test/client.

type Sent = MessageInitShape<typeof LeaseKeepAliveRequestSchema>;

/** A stream stand-in: the lease IDs it was asked to refresh. */
class FakeStream {
  readonly endpoint = "http://fake:2379";
  readonly sent: bigint[] = [];
  healthy = 0;
  send(request: Sent): void {
    this.sent.push(request.ID ?? 0n);
  }
  markHealthy(): void {
    this.healthy++;
  }
  get live(): LiveStream<typeof LeaseKeepAliveRequestSchema> {
    // The keeper uses only `send` and `healthy`.
    const fake = {
      endpoint: this.endpoint,
      send: (r: Sent) => this.send(r),
      healthy: () => this.markHealthy(),
    };
    return fake as unknown as LiveStream<typeof LeaseKeepAliveRequestSchema>;
  }
}

const refusingPool = {
  pick() {
    throw new Error("no pool in this spec");
  },
  diagnostics: SILENT_CHANNELS,
} as unknown as ConnectionPool;

const HOUR = 3600;

const keepers: LeaseKeeper[] = [];
afterEach(async () => {
  await Promise.all(keepers.splice(0).map((k) => k.close()));
});

function keeper() {
  const processRef = new ProcessRef();
  const k = new LeaseKeeper(
    refusingPool,
    {
      backoff: { initialMs: 1, maxMs: 1 },
      idleTimeoutMs: 0,
      answerTimeoutMs: 60_000,
      safetyMarginMs: 500,
    },
    processRef,
  );
  keepers.push(k);
  // What a Lease asks of its owner (the client's Leases): here, the keeper itself.
  const owner: LeaseOwner = {
    release: (id) => k.release(id),
    revoke: async () => {},
    keepAliveOnce: async () => HOUR,
  };
  const lease = (id: bigint, ttl = HOUR) => {
    const l = new Lease(owner, id, ttl);
    k.keep(l, performance.now());
    return l;
  };
  return { k, processRef, lease };
}

const answer = (id: bigint, ttl: number, revision = 1n): LeaseKeepAliveResponse =>
  create(LeaseKeepAliveResponseSchema, { ID: id, TTL: BigInt(ttl), header: { revision } });

describe("LeaseKeeper", () => {
  it("refreshes every kept lease at once on each new stream", () => {
    const { k, lease } = keeper();
    lease(1n);
    lease(2n);
    expect(k.size).toBe(2);
    const s = new FakeStream();
    k.opened(s.live);
    expect(s.sent).toEqual([1n, 2n]);
    // The stream ended: the next one refreshes every lease again.
    k.ended(s.live);
    const next = new FakeStream();
    k.opened(next.live);
    expect(next.sent).toEqual([1n, 2n]);
  });

  it("hands an answer's TTL and revision to its lease, and counts it as the stream's health", async () => {
    const { k, lease } = keeper();
    const l = lease(7n);
    const seen: LeaseKeepAliveEvent[] = [];
    l.on("keepalive", (e) => seen.push(e));
    const s = new FakeStream();
    k.opened(s.live);
    k.received(s.live, answer(7n, HOUR - 1, 42n));
    expect(l.ttl).toBe(HOUR - 1);
    expect(seen).toEqual([{ id: 7n, ttl: HOUR - 1, revision: 42n }]);
    expect(s.healthy).toBe(1);
    // An answer for a lease it does not keep changes nothing.
    k.received(s.live, answer(99n, 10));
    expect(s.healthy).toBe(1);
    expect(l.state).toBe("alive");
  });

  it("wakes a lease for its refresh a third of the TTL the server answered: not a grid step sooner, not later", () => {
    // The keeper's clock (performance.now) and its one timer (setTimeout) are faked: the schedule is
    // read off a clock only the test moves, so a busy machine can make it neither early nor late.
    vi.useFakeTimers({ toFake: ["setTimeout", "clearTimeout", "performance"] });
    try {
      const { k, lease } = keeper();
      // What the keeper's queue wakes it for, and when (the pool refuses, so no refresh goes out: the
      // schedule is what this test reads).
      const wakes: [number, string][] = [];
      const onDue = k.onDue.bind(k);
      k.onDue = (kept) => {
        wakes.push([performance.now(), kept.due(performance.now())]);
        onDue(kept);
      };
      const start = performance.now();
      const at = (ms: number) => start + ms;
      // Asked for 1 s, granted 3 s (etcd raises a TTL below its minimum): the keeper goes by the grant.
      const l = lease(5n, 3);
      const s = new FakeStream();
      k.opened(s.live);
      k.received(s.live, answer(5n, 3));
      // A third of 3 s after the answer, on a grid of a tenth of that: due at 1,000 ms, not at 900 (a
      // schedule on the asked 1 s would be due at 333) nor later (one at TTL/1.1 would be due at 2,727).
      vi.advanceTimersByTime(999);
      expect(wakes).toEqual([]);
      vi.advanceTimersByTime(1);
      expect(wakes).toEqual([[at(1_000), "refresh"]]);
      // The next answer grants 30 s: the schedule follows the answer, a third of it (10 s) later.
      k.received(s.live, answer(5n, 30));
      vi.advanceTimersByTime(9_999);
      expect(wakes).toHaveLength(1);
      vi.advanceTimersByTime(1);
      expect(wakes).toEqual([
        [at(1_000), "refresh"],
        [at(11_000), "refresh"],
      ]);
      expect(l.state).toBe("alive");
    } finally {
      vi.useRealTimers();
    }
  });

  it("declares a lease lost on TTL 0, forgets it, and lets the process go once it keeps nothing", async () => {
    const { k, processRef, lease } = keeper();
    const l = lease(3n);
    expect(processRef.count).toBe(1);
    const s = new FakeStream();
    k.opened(s.live);
    k.received(s.live, answer(3n, 0));
    // The loss is synchronous: checked before awaiting, so a keeper that missed it fails here, not by a hang.
    expect(l.state).toBe("closed");
    const error = await l.closed;
    expect(error).toBeInstanceOf(LeaseLostError);
    expect((error as LeaseLostError).reason).toBe("expired");
    expect(k.size).toBe(0);
    expect(k.get(3n)).toBeUndefined();
    expect(processRef.count).toBe(0);
  });

  it("loses every lease when no stream can work again (wrong credentials), with the cause", async () => {
    const { k, lease } = keeper();
    const a = lease(1n);
    const b = lease(2n);
    const cause = new EtcdError("authentication failed");
    k.failed(cause);
    expect([a.state, b.state]).toEqual(["closed", "closed"]);
    for (const l of [a, b]) {
      const error = (await l.closed) as LeaseLostError;
      expect(error).toBeInstanceOf(LeaseLostError);
      expect(error.reason).toBe("deadline");
      expect(error.cause).toBe(cause);
    }
    expect(k.wanted()).toBe(false);
  });

  it("waits for an answer a third of the shortest TTL kept, and forgets a released lease's TTL", () => {
    const { k, lease } = keeper();
    const short = lease(1n, 30);
    lease(2n, 90);
    expect(k.answerTimeoutMs()).toBe(10_000);
    void short.close();
    expect(short.state).toBe("closed");
    expect(k.answerTimeoutMs()).toBe(30_000);
  });

  it("ends its leases as closed (not lost) when closed, and refuses new ones", async () => {
    const { k, processRef, lease } = keeper();
    const l = lease(5n);
    await k.close();
    expect(l.state).toBe("closed");
    expect(await l.closed).toBeUndefined();
    expect(processRef.count).toBe(0);
    expect(() => lease(6n)).toThrow(LeasesClosedError);
  });
});
