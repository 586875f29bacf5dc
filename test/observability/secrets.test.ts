import { inspect } from "node:util";
import { isMessage } from "@bufbuild/protobuf";
import type { Interceptor } from "@connectrpc/connect";
import {
  BasicTracerProvider,
  InMemorySpanExporter,
  SimpleSpanProcessor,
} from "@opentelemetry/sdk-trace-base";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AuthFailedError, Etcd, type EtcdOptions } from "../../src/client/index.js";
import { AuthenticateResponseSchema } from "../../src/gen/etcdserverpb/rpc_pb.js";
import { instrumentEtcd } from "../../src/otel/index.js";
import { type EtcdCluster, startEtcd } from "../../src/testing/index.js";
import { collect } from "../support/collect.js";
import { DiagnosticsRecorder } from "../support/diagnostics.js";
import { enableAuth } from "../support/etcdctl.js";
import { until, within } from "../support/wait.js";

/**
 * No secret in any diagnostics payload, span or error: a run with username/password auth, a token that
 * expires (`--auth-token-ttl 2`) and is refreshed, a watch, a kept-alive lease and a wrong password,
 * with every channel subscribed and the OpenTelemetry instrumentation on. The tokens the client really
 * used are read off the wire by an interceptor (the only place they may be seen).
 */
const ROOT_PW = "root-Secret-pw-1";
const ALICE_PW = "alice-Secret-pw-Xq7";
const TOKEN_TTL_S = 2;

let cluster: EtcdCluster;
const clients: Etcd[] = [];
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

beforeAll(async () => {
  cluster = await startEtcd({ args: [`--auth-token-ttl=${TOKEN_TTL_S}`] });
  await enableAuth(cluster.endpoint, {
    rootPassword: ROOT_PW,
    role: { name: "app", grants: [["readwrite", "s/"]], users: [{ username: "alice", password: ALICE_PW }] },
  });
});

afterAll(async () => {
  await Promise.all(clients.map((c) => c.close()));
  await cluster?.close();
});

function client(options: Partial<EtcdOptions>): Etcd {
  const c = new Etcd({ endpoints: cluster.endpoint, ...options });
  clients.push(c);
  return c;
}

describe("secrets", { timeout: 90_000 }, () => {
  it("never appear in a diagnostics payload, a span or an error, through a token refresh and a wrong password", async () => {
    const tokens = new Set<string>();
    const tokenTap: Interceptor = (next) => async (req) => {
      const sent = req.header.get("token");
      if (sent) tokens.add(sent);
      const res = await next(req);
      if (!res.stream && isMessage(res.message, AuthenticateResponseSchema)) tokens.add(res.message.token);
      return res;
    };
    const recorder = new DiagnosticsRecorder();
    const exporter = new InMemorySpanExporter();
    const tracerProvider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
    const instrumentation = instrumentEtcd({ tracerProvider, semconv: "both" });
    const errors: unknown[] = [];
    let spans: ReturnType<InMemorySpanExporter["getFinishedSpans"]>;
    try {
      const alice = client({ auth: { username: "alice", password: ALICE_PW }, interceptors: [tokenTap] });
      await alice.put("s/a", "1");
      const watch = alice.watch({ prefix: "s/" });
      const events = collect(watch);
      await watch.created;
      const lease = await alice.lease.grant(10);

      // Idle past the token's TTL, then call: the server refuses the token and the client refreshes it.
      for (let round = 1; !recorder.of("etcd-ts:auth:token", (e) => e.reason === "refresh").length; round++) {
        if (round > 5) throw new Error("the token was never refreshed");
        await sleep((TOKEN_TTL_S + 1.5) * 1000);
        await within(alice.put("s/b", String(round)), "a put after the token's TTL");
      }
      await until("the watch to see both keys", () => events.keys.includes("s/b"));

      // A refused create on the stale stream reopens it with a fresh token (the stream-side refresh).
      const second = alice.watch("s/second");
      await within(second.created, "a watch created after the refresh");

      // Wrong credentials: refused, typed, without the password it was tried with.
      const wrong = client({
        auth: { username: "alice", password: "wrong-Secret-pw-9" },
        retry: { maxAttempts: 1 },
      });
      const refused = await wrong.put("s/c", "x").catch((e: unknown) => e);
      expect(refused).toBeInstanceOf(AuthFailedError);
      errors.push(refused, events.done, inspect(alice), inspect(wrong));

      await watch.close();
      await second.close();
      await lease.close();
      await alice.close();
    } finally {
      recorder.close();
      instrumentation.disable();
      // Shutting the exporter down empties it: read it first.
      spans = exporter.getFinishedSpans();
      await tracerProvider.shutdown();
    }

    expect(tokens.size).toBeGreaterThanOrEqual(2);
    expect(recorder.of("etcd-ts:auth:token").map((e) => e.reason)).toEqual(
      expect.arrayContaining(["initial", "refresh"]),
    );
    expect(recorder.of("etcd-ts:auth:error")).toHaveLength(1);
    expect(spans.some((s) => s.status.message)).toBe(true);
    const seen = [
      ...recorder.events.map((e) => inspect(e.payload, { depth: 8, showHidden: true })),
      ...spans.map((s) =>
        inspect({ name: s.name, attributes: s.attributes, status: s.status, events: s.events }, { depth: 8 }),
      ),
      ...errors.map((e) => inspect(e, { depth: 8, showHidden: true })),
    ].join("\n");
    for (const secret of [ROOT_PW, ALICE_PW, "wrong-Secret-pw-9", ...tokens]) {
      expect(seen.includes(secret), `a secret (${secret.slice(0, 3)}…) appeared`).toBe(false);
    }
  });
});
