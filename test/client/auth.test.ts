import { inspect } from "node:util";
import type { Transport } from "@connectrpc/connect";
import { Code, ConnectError, createClient } from "@connectrpc/connect";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createDefaultTransport } from "../../src/client/connection/default-transport.js";
import {
  AuthFailedError,
  type ClosableTransport,
  Etcd,
  type EtcdOptions,
  InvalidAuthTokenError,
  PermissionDeniedError,
} from "../../src/client/index.js";
import { KV } from "../../src/gen/etcdserverpb/rpc_pb.js";
import { type EtcdCluster, startEtcd } from "../../src/testing/index.js";
import { etcdctl } from "../support/etcdctl.js";

const ROOT_PW = "root-Secret-pw-123";
const ALICE_PW = "alice-Secret-pw-456";
const TOKEN_TTL_S = 2;

let cluster: EtcdCluster;
const clients: Etcd[] = [];
const unhandled: unknown[] = [];
const onUnhandled = (reason: unknown) => unhandled.push(reason);

beforeAll(async () => {
  process.on("unhandledRejection", onUnhandled);
  // Simple tokens (etcd's default) that expire after TOKEN_TTL_S seconds.
  cluster = await startEtcd({ args: [`--auth-token-ttl=${TOKEN_TTL_S}`] });
  const ep = cluster.endpoint;
  await etcdctl(ep, ["user", "add", `root:${ROOT_PW}`]);
  await etcdctl(ep, ["role", "add", "reader"]);
  await etcdctl(ep, ["role", "grant-permission", "reader", "--prefix=true", "read", "pub/"]);
  await etcdctl(ep, ["role", "grant-permission", "reader", "--prefix=true", "readwrite", "alice/"]);
  await etcdctl(ep, ["user", "add", `alice:${ALICE_PW}`]);
  await etcdctl(ep, ["user", "grant-role", "alice", "reader"]);
  await etcdctl(ep, ["auth", "enable"]);
});

afterAll(async () => {
  await Promise.all(clients.map((c) => c.close()));
  await cluster?.close();
  process.off("unhandledRejection", onUnhandled);
  expect(unhandled).toEqual([]);
});

/** Counts Authenticate calls and lets a test tamper with the token of KV calls. */
interface Tap {
  authenticates: number;
  tokenOverride: string | undefined;
  /** The token the last non-Authenticate unary call carried. */
  lastToken?: string | null;
}

function tappedTransport(tap: Tap) {
  return (endpoint: Parameters<typeof createDefaultTransport>[0]): ClosableTransport => {
    const inner = createDefaultTransport(endpoint, {
      keepaliveIntervalMs: 10_000,
      keepaliveTimeoutMs: 5_000,
      connectTimeoutMs: 5_000,
    });
    const wrapped: Transport = {
      unary(method, signal, timeoutMs, header, input, ctx) {
        if (method.name === "Authenticate") tap.authenticates++;
        else tap.lastToken = new Headers(header).get("token");
        if (method.name !== "Authenticate" && tap.tokenOverride !== undefined) {
          const h = new Headers(header);
          h.set("token", tap.tokenOverride);
          header = h;
        }
        return inner.unary(method, signal, timeoutMs, header, input, ctx);
      },
      stream: inner.stream.bind(inner),
    };
    return Object.assign(wrapped, { close: () => inner.close() });
  };
}

function client(username: string, password: string, extra: Partial<EtcdOptions> = {}, tap?: Tap): Etcd {
  const transport = tap ? tappedTransport(tap) : undefined;
  const c = new Etcd({ endpoints: cluster.endpoints, auth: { username, password }, transport, ...extra });
  clients.push(c);
  return c;
}

describe("auth", () => {
  it("authenticates and sends the token", async () => {
    const root = client("root", ROOT_PW);
    await root.put("pub/hello", "world");
    expect((await root.get("pub/hello"))?.text()).toBe("world");
  });

  it("fails at once with AuthFailedError on wrong credentials, without the password anywhere", async () => {
    const tap: Tap = { authenticates: 0, tokenOverride: undefined };
    const bad = client("root", "wrong-Password-789", {}, tap);
    const started = Date.now();
    const err = await bad.get("pub/hello").catch((e) => e);
    expect(err).toBeInstanceOf(AuthFailedError);
    expect(tap.authenticates).toBe(1);
    expect(Date.now() - started).toBeLessThan(2_000);
    const everything = `${err.message}\n${err.stack}\n${inspect(err, { depth: 10 })}\n${inspect(bad, { depth: 10 })}`;
    expect(everything).not.toContain("wrong-Password-789");
  });

  it("keeps passwords out of inspect() output", async () => {
    const root = client("root", ROOT_PW);
    await root.get("pub/hello");
    const shown = inspect(root, { depth: 10, showHidden: true });
    expect(shown).not.toContain(ROOT_PW);
    expect(shown).toContain("root");
  });

  it("maps a missing permission to PermissionDeniedError", async () => {
    const alice = client("alice", ALICE_PW);
    await alice.put("alice/x", "mine");
    expect((await alice.get("pub/hello"))?.text()).toBe("world");
    await expect(alice.put("pub/hello", "nope")).rejects.toBeInstanceOf(PermissionDeniedError);
  });

  it("re-authenticates once when the server expired the token, and the call succeeds", async () => {
    const tap: Tap = { authenticates: 0, tokenOverride: undefined };
    const alice = client("alice", ALICE_PW, {}, tap);
    await alice.get("pub/hello");
    expect(tap.authenticates).toBe(1);
    const oldToken = tap.lastToken!;
    expect(oldToken).toBeTruthy();
    await new Promise((r) => setTimeout(r, (TOKEN_TTL_S + 1.5) * 1000));
    // The server really expired it: a raw call with the old token is refused.
    const raw = createDefaultTransport(
      { url: cluster.endpoint, secure: false, tls: undefined },
      { keepaliveIntervalMs: 10_000, keepaliveTimeoutMs: 5_000, connectTimeoutMs: 5_000 },
    );
    try {
      const kv = createClient(KV, raw);
      const rawErr = await kv
        .range({ key: new TextEncoder().encode("pub/hello") }, { headers: { token: oldToken } })
        .catch((e) => e);
      expect(rawErr).toBeInstanceOf(ConnectError);
      expect(rawErr.code).toBe(Code.Unauthenticated);
      expect(rawErr.rawMessage).toBe("etcdserver: invalid auth token");
    } finally {
      await raw.close();
    }
    // Writes too: the token is checked before anything is applied.
    await alice.put("alice/after-expiry", "ok");
    expect(tap.authenticates).toBe(2);
    expect((await alice.get("alice/after-expiry"))?.text()).toBe("ok");
  });

  it("shares one re-authentication among concurrent calls that see the expired token", async () => {
    const tap: Tap = { authenticates: 0, tokenOverride: undefined };
    const alice = client("alice", ALICE_PW, {}, tap);
    await alice.get("pub/hello");
    await new Promise((r) => setTimeout(r, (TOKEN_TTL_S + 1.5) * 1000));
    const results = await Promise.all(Array.from({ length: 20 }, () => alice.get("pub/hello")));
    expect(results.every((kv) => kv?.text() === "world")).toBe(true);
    expect(tap.authenticates).toBe(2);
  });

  it("simple tokens in 3.4 slide: a token used within the TTL stays valid", async () => {
    const tap: Tap = { authenticates: 0, tokenOverride: undefined };
    const alice = client("alice", ALICE_PW, {}, tap);
    for (let i = 0; i < 6; i++) {
      await alice.get("pub/hello");
      await new Promise((r) => setTimeout(r, 800));
    }
    expect(tap.authenticates).toBe(1);
  });

  it("re-authenticates at most once per call: a token still refused gives InvalidAuthTokenError", async () => {
    const tap: Tap = { authenticates: 0, tokenOverride: undefined };
    const alice = client("alice", ALICE_PW, {}, tap);
    await alice.get("pub/hello");
    // Simple tokens are "<random>.<raft index>"; etcd 3.4 waits for that index to be applied before it
    // judges the token, so a made-up token must carry a small index or the call hangs until its deadline.
    tap.tokenOverride = "bogusbogusbogusb.1";
    const err = await alice.get("pub/hello").catch((e) => e);
    expect(err).toBeInstanceOf(InvalidAuthTokenError);
    expect(err.code).toBe(Code.Unauthenticated);
    expect(tap.authenticates).toBe(2);
  });
});

describe("auth across members", () => {
  let three: EtcdCluster | undefined;

  afterAll(async () => {
    await three?.close();
  });

  it("keeps working when the member it authenticated against dies", async () => {
    three = await startEtcd({ members: 3, args: [`--auth-token-ttl=${TOKEN_TTL_S}`] });
    const ep = three.endpoint;
    await etcdctl(ep, ["user", "add", `root:${ROOT_PW}`]);
    await etcdctl(ep, ["auth", "enable"]);
    const tap: Tap = { authenticates: 0, tokenOverride: undefined };
    const root = new Etcd({
      endpoints: three.endpoints,
      auth: { username: "root", password: ROOT_PW },
      retry: { initialBackoffMs: 20 },
      timeoutMs: 15_000,
      transport: tappedTransport(tap),
    });
    clients.push(root);
    await root.put("multi/k", "v");
    expect(tap.authenticates).toBe(1);
    await three.members[0]!.kill();
    // The token is checked by whichever member answers now; the client re-authenticates if needed.
    expect((await root.get("multi/k"))?.text()).toBe("v");
    // Past the TTL the other members never saw the token used: it has expired there.
    await new Promise((r) => setTimeout(r, (TOKEN_TTL_S + 1.5) * 1000));
    await root.put("multi/k2", "v2");
    expect(tap.authenticates).toBeGreaterThanOrEqual(2);
    expect(tap.authenticates).toBeLessThanOrEqual(3);
  });
});
