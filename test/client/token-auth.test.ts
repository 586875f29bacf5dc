import { generateKeyPairSync } from "node:crypto";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Code } from "@connectrpc/connect";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  DeadlineExceededError,
  Etcd,
  type GetTokenContext,
  GetTokenError,
  InvalidAuthTokenError,
} from "../../src/client/index.js";
import { type EtcdCluster, startEtcd } from "../../src/testing/index.js";
import { mintToken, waitForTokenExpiry } from "../support/auth-tokens.js";
import { CallTap } from "../support/call-tap.js";
import { collect } from "../support/collect.js";
import { enableAuth, etcdctl } from "../support/etcdctl.js";
import { until, within } from "../support/wait.js";

/**
 * Tokens minted elsewhere: `auth: { token }` (sent as is, never refreshed) and `auth: { getToken }`
 * (asked when none is held and after a refusal, with the same one-refresh rule as a password). Simple
 * tokens with `--auth-token-ttl=2`, minted by a separate Authenticate, as another program would; and
 * JWTs (`--auth-token=jwt`, RS256) on a member of their own.
 */
const ROOT_PW = "root-Token-pw-1";
const ALICE_PW = "alice-Token-pw-2";
const TOKEN_TTL_S = 2;

let cluster: EtcdCluster;
let root: Etcd;
const clients: Etcd[] = [];
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const fastStreams = { backoff: { initialMs: 20, maxMs: 300 } };

function track<T extends Etcd>(client: T): T {
  clients.push(client);
  return client;
}

/** A getToken that mints alice's tokens with its own Authenticate and records why it was asked. */
function aliceTokens(endpoint: () => string) {
  const asked: string[] = [];
  const minted: string[] = [];
  const getToken = async ({ reason }: GetTokenContext) => {
    asked.push(reason);
    const token = await mintToken(endpoint(), "alice", ALICE_PW);
    minted.push(token);
    return token;
  };
  return { asked, minted, getToken };
}

beforeAll(async () => {
  cluster = await startEtcd({ args: [`--auth-token-ttl=${TOKEN_TTL_S}`] });
  const ep = cluster.endpoint;
  await enableAuth(ep, {
    rootPassword: ROOT_PW,
    role: {
      name: "tokens",
      grants: [["readwrite", "t/"]],
      users: [{ username: "alice", password: ALICE_PW }],
    },
  });
  root = track(new Etcd({ endpoints: cluster.endpoints, auth: { username: "root", password: ROOT_PW } }));
});

afterAll(async () => {
  await Promise.all(clients.map((c) => c.close()));
  await cluster?.close();
});

describe("auth: { token }", { timeout: 60_000 }, () => {
  it("works until the server refuses it; then calls fail and watches end with InvalidAuthTokenError, no loop", async () => {
    const token = await mintToken(cluster.endpoint, "alice", ALICE_PW);
    const tap = new CallTap();
    const alice = track(tap.client({ endpoints: cluster.endpoints, auth: { token }, streams: fastStreams }));
    await alice.put("t/fixed/k", "v");
    expect((await alice.get("t/fixed/k"))?.text()).toBe("v");
    const first = collect(alice.watch({ prefix: "t/fixed/w/" }));
    await until("the watch to deliver", async () => {
      await root.put("t/fixed/w/a", "v");
      return first.keys.length > 0;
    });

    await waitForTokenExpiry(token, [cluster.endpoint], TOKEN_TTL_S, "t/fixed/k");
    const since = performance.now();
    const refusal = await alice.get("t/fixed/k").catch((e: unknown) => e);
    expect(refusal).toBeInstanceOf(InvalidAuthTokenError);
    // Sent once: nothing to refresh, nothing to retry.
    expect(tap.of("Range", since)).toHaveLength(1);

    // A watch created now is refused on the stream: the token cannot be replaced, so every watch ends.
    const second = collect(alice.watch("t/fixed/other"));
    expect(await within(second.done, "the new watch to end")).toBeInstanceOf(InvalidAuthTokenError);
    expect(await within(first.done, "the first watch to end")).toBeInstanceOf(InvalidAuthTokenError);
    const opens = tap.streams.filter((s) => s.method === "Watch").length;
    await sleep(1_000);
    expect(tap.streams.filter((s) => s.method === "Watch")).toHaveLength(opens);
    expect(tap.of("Authenticate")).toHaveLength(0);
    // Every call and stream carried the token as given.
    const sent = new Set([...tap.calls, ...tap.streams].map((c) => c.header.get("token")));
    expect(sent).toEqual(new Set([token]));
  });
});

describe("auth: { getToken }", { timeout: 90_000 }, () => {
  it("is asked once for many calls, once more after a refusal (the call runs once more); watches resume exactly once per revision", async () => {
    const tokens = aliceTokens(() => cluster.endpoint);
    const tap = new CallTap();
    const alice = track(
      tap.client({ endpoints: cluster.endpoints, auth: { getToken: tokens.getToken }, streams: fastStreams }),
    );
    // Concurrent calls that find no token share one getToken.
    await Promise.all(Array.from({ length: 10 }, (_, i) => alice.put(`t/gt/${i}`, "v")));
    expect(tokens.asked).toEqual(["initial"]);

    const start = (await root.put("t/gt/w/!start", "x")).revision + 1n;
    const watch = collect(alice.watch({ prefix: "t/gt/w/" }, { startRevision: start }));
    const written: string[] = [];
    const write = async (key: string) => {
      await alice.put(key, "v");
      written.push(key);
    };
    await write("t/gt/w/0");
    await until("the watch to deliver", () => watch.keys.length > 0);

    await waitForTokenExpiry(tokens.minted[0]!, [cluster.endpoint], TOKEN_TTL_S, "t/gt/0");
    const since = performance.now();
    await write("t/gt/w/1");
    // Refused, one new token, sent once more with it.
    expect(tokens.asked).toEqual(["initial", "refresh"]);
    expect(tap.of("Put", since).map((c) => c.header.get("token"))).toEqual(tokens.minted);

    // A watch created now goes to the stream that carries the expired token: refused, the stream
    // reopens with the current token and both watches go on.
    const late = collect(alice.watch("t/gt/late"));
    await until("the watch created after expiry to deliver", async () => {
      await root.put("t/gt/late", "v");
      return late.keys.length > 0;
    });

    // The member restarts: its tokens die with it.
    const beforeRestart = tokens.asked.length;
    await cluster.members[0]!.kill();
    await cluster.members[0]!.start();
    for (let i = 2; i < 6; i++) await write(`t/gt/w/${i}`);
    await until(`all ${written.length} events`, () => watch.keys.length >= written.length);
    expect(watch.keys).toEqual(written);
    // One refusal of the dead token by the unary call, one by the stream: at most two new tokens.
    expect(tokens.asked.length - beforeRestart).toBeLessThanOrEqual(2);
    expect(tokens.asked.slice(1).every((r) => r === "refresh")).toBe(true);
    expect(tap.of("Authenticate")).toHaveLength(0);
  });

  it("a getToken that fails fails the call with GetTokenError, unsent and not retried; a watch waits with backoff", async () => {
    let failing = true;
    let asked = 0;
    const tap = new CallTap();
    const alice = track(
      tap.client({
        endpoints: cluster.endpoints,
        streams: { backoff: { initialMs: 200, maxMs: 400 } },
        auth: {
          getToken: async () => {
            asked++;
            if (failing) throw new Error("the identity service is down");
            return mintToken(cluster.endpoint, "alice", ALICE_PW);
          },
        },
      }),
    );
    const readError = await alice.get("t/rej/k").catch((e: unknown) => e);
    expect(readError).toBeInstanceOf(GetTokenError);
    expect((readError as GetTokenError).code).toBe(Code.Unauthenticated);
    expect(((readError as GetTokenError).cause as Error).message).toBe("the identity service is down");
    expect(asked).toBe(1);
    const writeError = await alice.put("t/rej/k", "v").catch((e: unknown) => e);
    expect(writeError).toBeInstanceOf(GetTokenError);
    expect(asked).toBe(2);
    expect(tap.calls).toHaveLength(0);

    // A watch's stream asks again after each backoff step (at least 100 ms, then at least 200 ms).
    const began = performance.now();
    const watch = collect(alice.watch({ prefix: "t/rej/" }));
    await until("the stream to ask getToken three times", () => asked >= 5);
    const elapsed = performance.now() - began;
    expect(asked - 2).toBeLessThanOrEqual(2 + elapsed / 200);
    expect(tap.streams).toHaveLength(0);

    failing = false;
    await until("the watch to deliver once getToken works", async () => {
      await root.put("t/rej/k", "v");
      return watch.keys.length > 0;
    });
    expect((await alice.get("t/rej/k"))?.text()).toBe("v");
  });

  it("a getToken that never settles: the call fails at its own deadline, the client stops waiting at timeoutMs and asks again", async () => {
    const signals: AbortSignal[] = [];
    const alice = track(
      new Etcd({
        endpoints: cluster.endpoints,
        timeoutMs: 1_500,
        auth: {
          getToken: ({ signal }) => {
            signals.push(signal);
            if (signals.length === 1) return new Promise<string>(() => {});
            return mintToken(cluster.endpoint, "alice", ALICE_PW);
          },
        },
      }),
    );
    const err = await alice.get("t/hang", { timeoutMs: 200 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DeadlineExceededError);
    expect(signals).toHaveLength(1);
    await until("the client to give up on the first getToken", () => signals[0]!.aborted);
    expect(await alice.get("t/hang")).toBeUndefined();
    expect(signals).toHaveLength(2);
  });
});

describe("JWT tokens (--auth-token=jwt, RS256)", { timeout: 60_000 }, () => {
  let jwt: EtcdCluster | undefined;
  let dir: string | undefined;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "etcd-ts-jwt-"));
    const keys = generateKeyPairSync("rsa", {
      modulusLength: 2048,
      publicKeyEncoding: { type: "spki", format: "pem" },
      privateKeyEncoding: { type: "pkcs8", format: "pem" },
    });
    const pub = join(dir, "jwt.pub.pem");
    const priv = join(dir, "jwt.pem");
    await writeFile(pub, keys.publicKey);
    await writeFile(priv, keys.privateKey, { mode: 0o600 });
    jwt = await startEtcd({ args: [`--auth-token=jwt,pub-key=${pub},priv-key=${priv},sign-method=RS256`] });
    await enableAuth(jwt.endpoint, { rootPassword: ROOT_PW });
  });

  afterAll(async () => {
    await jwt?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it("a JWT minted elsewhere works as { token } until the auth store changes; getToken then refreshes once", async () => {
    const ep = jwt!.endpoint;
    const token = await mintToken(ep, "root", ROOT_PW);
    expect(token.split(".")).toHaveLength(3);
    const tap = new CallTap();
    const fixed = track(tap.client({ endpoints: jwt!.endpoints, auth: { token }, streams: fastStreams }));
    await fixed.put("j/k", "v");
    expect((await fixed.get("j/k"))?.text()).toBe("v");
    const watch = collect(fixed.watch("j/w"));
    await until("the watch on the JWT to deliver", async () => {
      await fixed.put("j/w", "v");
      return watch.keys.length > 0;
    });
    const tokens = { asked: [] as string[] };
    const minting = track(
      new Etcd({
        endpoints: jwt!.endpoints,
        auth: {
          getToken: ({ reason }) => {
            tokens.asked.push(reason);
            return mintToken(ep, "root", ROOT_PW);
          },
        },
      }),
    );
    await minting.put("j/k", "w");
    expect(tokens.asked).toEqual(["initial"]);

    // A JWT carries the auth store's revision: any change (here a new user) makes it stale for good.
    await etcdctl(ep, ["user", "add", "carol:carol-pw"], [`--user=root:${ROOT_PW}`]);
    const since = performance.now();
    const refusal = await fixed.get("j/k").catch((e: unknown) => e);
    expect(refusal).toBeInstanceOf(InvalidAuthTokenError);
    expect((refusal as InvalidAuthTokenError).serverMessage).toBe(
      "etcdserver: revision of auth store is old",
    );
    expect(tap.of("Range", since)).toHaveLength(1);
    expect((await minting.get("j/k"))?.text()).toBe("w");
    expect(tokens.asked).toEqual(["initial", "refresh"]);
    expect(tap.of("Authenticate")).toHaveLength(0);
  });
});
