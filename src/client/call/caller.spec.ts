import { Code, ConnectError } from "@connectrpc/connect";
import { describe, expect, it } from "vitest";
import { KV, Maintenance } from "../../gen/etcdserverpb/rpc_pb.js";
import {
  DeadlineExceededError,
  type EtcdError,
  RequestTooLargeError,
  StaleReadError,
  UnavailableError,
} from "../core/errors.js";
import { markNotSent } from "../core/failure.js";
import { SILENT_CHANNELS } from "../diagnostics/channels.js";
import type { ClosableTransport } from "../transport/closable-transport.js";
import { UnaryCaller } from "./caller.js";
import { ConnectionPool } from "./pool.js";
import { RevisionFloor } from "./revision-floor.js";

/** One unary request a fake transport saw. */
interface Sent {
  endpoint: string;
  method: string;
  timeoutMs: number | undefined;
  headers: Record<string, string>;
}

/**
 * A fake transport per endpoint: `answer(endpoint, method)` returns the response message, or throws
 * what that endpoint fails with. Every request is recorded in `sent`.
 */
function fakeClient(
  answer: (endpoint: string, method: string) => unknown,
  options: {
    requireLeader?: boolean;
    endpoints?: string[];
    maxAttempts?: number;
    floor?: RevisionFloor;
  } = {},
) {
  const sent: Sent[] = [];
  const endpoints = options.endpoints ?? ["http://127.0.0.1:1", "http://127.0.0.1:2"];
  const transport = (url: string): ClosableTransport =>
    ({
      async unary(
        method: { name: string },
        _signal: AbortSignal | undefined,
        timeoutMs: number | undefined,
        header: Record<string, string> | undefined,
      ) {
        sent.push({ endpoint: url, method: method.name, timeoutMs, headers: { ...header } });
        return { message: answer(url, method.name) };
      },
      stream: () => Promise.reject(new Error("no streams here")),
      close: async () => {},
    }) as unknown as ClosableTransport;
  const pool = new ConnectionPool(
    endpoints.map((url) => ({ url, secure: false, tls: undefined })),
    {
      cooldownMs: 5000,
      factory: (endpoint) => transport(endpoint.url),
      auth: undefined,
      timeoutMs: 1000,
      requireLeader: options.requireLeader ?? true,
      diagnostics: SILENT_CHANNELS,
    },
  );
  const closed = new AbortController();
  const caller = new UnaryCaller(
    pool,
    {
      timeoutMs: 1000,
      maxAttempts: options.maxAttempts ?? 3,
      backoff: { initialMs: 1, maxMs: 2 },
      floor: options.floor,
    },
    closed.signal,
  );
  return { caller, sent };
}

const refused = () => {
  const cause = Object.assign(new Error("connect ECONNREFUSED 127.0.0.1:1"), {
    code: "ECONNREFUSED",
    syscall: "connect",
  });
  return new ConnectError("connect ECONNREFUSED", Code.Unavailable, undefined, undefined, cause);
};
const lost = () => new ConnectError("connection reset", Code.Unavailable);

describe("UnaryCaller with a CallSpec", () => {
  it("sends hasleader per the client's requireLeader, unless the spec says otherwise", async () => {
    const { caller, sent } = fakeClient(() => ({}));
    await caller.call({ method: KV.method.put }, { key: new Uint8Array([1]) });
    await caller.call({ method: KV.method.range, hasleader: false }, {});
    const off = fakeClient(() => ({}), { requireLeader: false });
    await off.caller.call({ method: KV.method.range }, {});
    await off.caller.call({ method: Maintenance.method.moveLeader, hasleader: true }, {});
    expect(sent.map((s) => s.headers.hasleader)).toEqual(["true", undefined]);
    expect(off.sent.map((s) => s.headers.hasleader)).toEqual([undefined, "true"]);
  });

  it("sends the spec's metadata and deadline", async () => {
    const { caller, sent } = fakeClient(() => ({}));
    await caller.call(
      { method: KV.method.range, options: { timeoutMs: 500, metadata: { "x-trace": "t1" } } },
      {},
    );
    expect(sent[0]!.headers["x-trace"]).toBe("t1");
    expect(sent[0]!.timeoutMs).toBeLessThanOrEqual(500);
    expect(sent[0]!.timeoutMs).toBeGreaterThan(0);
  });

  it("checks the options before anything is sent", async () => {
    const { caller, sent } = fakeClient(() => ({}));
    await expect(
      caller.call({ method: KV.method.range, options: { metadata: { token: "forged" } } }, {}),
    ).rejects.toMatchObject({ name: "InvalidArgumentError", field: "metadata" });
    expect(sent).toEqual([]);
  });

  it("takes the retry kind from RETRY_TABLE: a read is retried on the next endpoint after UNAVAILABLE", async () => {
    const { caller, sent } = fakeClient((endpoint) => {
      if (endpoint.endsWith(":1")) throw lost();
      return { count: 1n };
    });
    const answeredBy: { endpoint?: string } = {};
    const res = await caller.call({ method: KV.method.range }, {}, answeredBy);
    expect(res.count).toBe(1n);
    expect(sent.map((s) => s.endpoint)).toEqual(["http://127.0.0.1:1", "http://127.0.0.1:2"]);
    expect(answeredBy.endpoint).toBe("http://127.0.0.1:2");
  });

  it("does not send a write again after UNAVAILABLE that may have reached the server", async () => {
    const { caller, sent } = fakeClient(() => {
      throw lost();
    });
    await expect(caller.call({ method: KV.method.put }, {})).rejects.toBeInstanceOf(UnavailableError);
    expect(sent).toHaveLength(1);
  });

  it("sends a write again when it provably never left (a refused connection)", async () => {
    const { caller, sent } = fakeClient((endpoint) => {
      if (endpoint.endsWith(":1")) throw refused();
      return {};
    });
    await caller.call({ method: KV.method.put }, {});
    expect(sent.map((s) => s.endpoint)).toEqual(["http://127.0.0.1:1", "http://127.0.0.1:2"]);
  });

  it("retries a txn that only reads like a read, a txn that writes like a write", async () => {
    const readOnly = { success: [{ request: { case: "requestRange" as const, value: {} } }] };
    const writes = { success: [{ request: { case: "requestPut" as const, value: {} } }] };
    const read = fakeClient((endpoint) => {
      if (endpoint.endsWith(":1")) throw lost();
      return {};
    });
    await read.caller.call({ method: KV.method.txn }, readOnly);
    expect(read.sent).toHaveLength(2);
    const write = fakeClient(() => {
      throw lost();
    });
    await expect(write.caller.call({ method: KV.method.txn }, writes)).rejects.toBeInstanceOf(
      UnavailableError,
    );
    expect(write.sent).toHaveLength(1);
  });

  it("does not send again what was refused before it left (a message over the send limit)", async () => {
    const { caller, sent } = fakeClient(() => {
      throw markNotSent(
        new ConnectError("message of 3 bytes exceeds the send limit", Code.ResourceExhausted),
      );
    });
    await expect(caller.call({ method: KV.method.range }, {})).rejects.toBeInstanceOf(RequestTooLargeError);
    expect(sent).toHaveLength(1);
  });

  it("stops after maxAttempts and types the last failure", async () => {
    const { caller, sent } = fakeClient(
      () => {
        throw lost();
      },
      { maxAttempts: 2 },
    );
    const err = await caller.call({ method: KV.method.range }, {}).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UnavailableError);
    expect((err as EtcdError).endpoint).toBeDefined();
    expect(sent).toHaveLength(2);
  });

  it("a deadline that passed before the request left says so", async () => {
    // One attempt, and a deadline no busy machine reaches before it: the transport's own deadline report
    // (the fake) is what the caller words, not a deadline of its own that passed before the attempt.
    const { caller } = fakeClient(
      () => {
        throw markNotSent(new ConnectError("the operation timed out", Code.DeadlineExceeded));
      },
      { maxAttempts: 1 },
    );
    const err = await caller
      .call({ method: KV.method.put, options: { timeoutMs: 60_000 } }, {})
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DeadlineExceededError);
    expect((err as Error).message).toMatch(/never left this process/);
  });

  it("run() takes the retry kind of the spec's method", async () => {
    const { caller } = fakeClient(() => ({}));
    let attempts = 0;
    const result = await caller.run({ method: KV.method.rangeStream }, async () => {
      if (++attempts === 1) throw lost();
      return "opened";
    });
    expect([result, attempts]).toEqual(["opened", 2]);
  });
});

describe("UnaryCaller with monotonicReads (a RevisionFloor)", () => {
  const at = (revision: bigint) => ({ header: { revision } });
  const readOnlyTxn = { success: [{ request: { case: "requestRange" as const, value: {} } }] };

  it("retries a read answered below the floor on the next endpoint, and returns the newer answer", async () => {
    const floor = new RevisionFloor();
    const { caller, sent } = fakeClient(
      (endpoint, method) => at(method === "Put" ? 10n : endpoint.endsWith(":1") ? 7n : 12n),
      { floor },
    );
    await caller.call({ method: KV.method.put }, {});
    expect(floor.seen).toBe(10n);
    const answeredBy: { endpoint?: string } = {};
    const res = await caller.call({ method: KV.method.range }, {}, answeredBy);
    expect(res.header?.revision).toBe(12n);
    expect(answeredBy.endpoint).toBe("http://127.0.0.1:2");
    expect(floor.seen).toBe(12n);
    expect(sent.map((s) => `${s.method}@${s.endpoint.slice(-1)}`)).toEqual(["Put@1", "Range@1", "Range@2"]);
  });

  it("fails with StaleReadError when every attempt is answered below the floor", async () => {
    const floor = new RevisionFloor();
    let first = true;
    const { caller, sent } = fakeClient(
      () => {
        const answer = at(first ? 20n : 15n);
        first = false;
        return answer;
      },
      { floor },
    );
    await caller.call({ method: KV.method.range }, {});
    const err = await caller.call({ method: KV.method.txn }, readOnlyTxn).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(StaleReadError);
    expect(err).toBeInstanceOf(UnavailableError);
    expect(err).toMatchObject({ code: Code.Unavailable, revision: 15n, seenRevision: 20n });
    expect((err as StaleReadError).endpoint).toMatch(/^http:\/\/127\.0\.0\.1:[12]$/);
    expect(sent).toHaveLength(4);
    expect(floor.seen).toBe(20n);
  });

  it("ends with the stale answer, not the unreachable member tried last", async () => {
    const floor = new RevisionFloor();
    let seeded = false;
    const { caller, sent } = fakeClient(
      (endpoint) => {
        if (!seeded) {
          seeded = true;
          return at(9n);
        }
        if (endpoint.endsWith(":1")) throw refused();
        return at(4n);
      },
      { floor, maxAttempts: 3 },
    );
    await caller.call({ method: KV.method.deleteRange }, {});
    const err = await caller.call({ method: KV.method.range }, {}).catch((e: unknown) => e);
    // The delete, then the read: refused on 1, stale on 2, refused on 1 again (the last attempt).
    expect(sent.map((s) => s.endpoint.slice(-1))).toEqual(["1", "1", "2", "1"]);
    expect(err).toBeInstanceOf(StaleReadError);
    expect(err).toMatchObject({ revision: 4n, seenRevision: 9n, endpoint: "http://127.0.0.1:2" });
  });

  it("does not refuse a write, or a txn that writes, answered below the floor (only reads are held to it)", async () => {
    const floor = new RevisionFloor();
    const writes = { success: [{ request: { case: "requestPut" as const, value: {} } }] };
    let revision = 30n;
    const { caller } = fakeClient(() => at(revision), { floor });
    await caller.call({ method: KV.method.range }, {});
    revision = 25n;
    await expect(caller.call({ method: KV.method.txn }, writes)).resolves.toEqual(at(25n));
    await expect(caller.call({ method: KV.method.put }, {})).resolves.toEqual(at(25n));
    expect(floor.seen).toBe(30n);
  });

  it("leaves calls outside KV alone", async () => {
    const floor = new RevisionFloor();
    let revision = 50n;
    const { caller } = fakeClient(() => at(revision), { floor });
    await caller.call({ method: Maintenance.method.status }, {});
    expect(floor.seen).toBe(0n);
    await caller.call({ method: KV.method.range }, {});
    revision = 3n;
    await expect(caller.call({ method: Maintenance.method.status }, {})).resolves.toEqual(at(3n));
  });

  it("without a floor, returns whatever revision the member answered at", async () => {
    let revision = 30n;
    const { caller } = fakeClient(() => at(revision));
    await caller.call({ method: KV.method.range }, {});
    revision = 2n;
    await expect(caller.call({ method: KV.method.range }, {})).resolves.toEqual(at(2n));
  });
});
