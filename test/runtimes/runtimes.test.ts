import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type EtcdCluster, startEtcd } from "../../src/testing/index.js";
import { startProcessCluster, storeHistory, TOKEN_TTL_S, write } from "../process/support.js";
import { Child, type ChildEvent } from "../support/child.js";
import { checkHistory, describeReport } from "../support/history.js";
import { callsHandled } from "../support/server-metrics.js";
import { findRuntimes, REQUIRE_RUNTIMES, RUNTIME_ENV, type Runtime } from "./runtimes.js";
import type { ScenarioArgs } from "./scenario.js";
import type { TlsArgs } from "./tls.js";

const SCENARIO = fileURLToPath(new URL("./scenario.ts", import.meta.url));
const TLS = fileURLToPath(new URL("./tls.ts", import.meta.url));

/** Waits for the scenario's `type` line; fails at once on its "error" line. */
function step(child: Child, type: string, timeoutMs = 30_000): Promise<ChildEvent> {
  return child.waitFor(
    `the scenario's "${type}" line`,
    (e) => {
      if (e.type === "error")
        throw new Error(`the scenario failed: ${String(e.message)}\n${String(e.stack)}`);
      return e.type === type;
    },
    { timeoutMs },
  );
}

/**
 * The scenario under one runtime, against its own etcd (auth on, tokens expire after TOKEN_TTL_S s of
 * disuse) behind a FaultProxy that the test cuts while the scenario watches.
 */
async function runScenario(runtime: Runtime, transport: Transport): Promise<void> {
  if (!runtime.executable) throw new Error(`${runtime.name} is not installed: ${runtime.missing}`);
  const pc = await startProcessCluster({ auth: true, prefix: "rt/", permission: "readwrite" });
  let child: Child | undefined;
  try {
    const prefix = `rt/${runtime.name}/${transport}/`;
    const args: ScenarioArgs = {
      endpoint: pc.proxy.url,
      username: pc.childAuth!.username,
      password: pc.childAuth!.password,
      prefix,
      tokenTtlSeconds: TOKEN_TTL_S,
      transport,
    };
    const [command, argv] = runtime.tsCommand(SCENARIO, [JSON.stringify(args)]);
    const c = Child.spawn(`scenario.ts under ${runtime.name} (${transport})`, command, argv, RUNTIME_ENV);
    child = c;

    // The program really runs on the runtime under test.
    expect(await step(c, "runtime", 60_000)).toEqual({
      type: "runtime",
      name: runtime.name,
      version: runtime.version,
    });

    expect(await step(c, "kv")).toEqual({
      type: "kv",
      a: "1",
      b: [0, 255],
      keys: [`${prefix}kv/a`, `${prefix}kv/b`],
      deleted: "2",
      gone: true,
    });
    expect(await step(c, "txn")).toEqual({
      type: "txn",
      created: true,
      again: false,
      cas: true,
      value: "1",
      stale: false,
    });

    // Watch: writes before, during and after a cut of the connection; every revision exactly once, in order.
    const from = BigInt((await step(c, "watch-ready")).from as string);
    const writeSome = async (label: string, n: number) => {
      let revision = 0n;
      for (let i = 0; i < n; i++) revision = await write(pc, `${prefix}w/${label}${i % 3}`, `${i}`);
      await pc.admin.delete(`${prefix}w/${label}0`);
      return revision;
    };
    const beforeCut = await writeSome("before", 8);
    await c.waitFor("the watch delivering the writes made before the cut", (e) => {
      return e.type === "watch-batch" && BigInt(e.last as string) >= beforeCut;
    });
    pc.proxy.cut();
    await writeSome("during", 8);
    await c.until("the scenario's client reconnecting through the proxy", () => pc.proxy.connections > 0);
    await writeSome("after", 8);
    const end = await write(pc, `${prefix}w/end`, "e");
    const done = await step(c, "watch-done");
    const delivered = (done.events as { revision: string; key: string; type: "put" | "delete" }[]).map(
      (e) => ({ ...e, revision: BigInt(e.revision) }),
    );
    const history = await storeHistory(pc, `${prefix}w/`, from, end);
    expect(history.length).toBeGreaterThanOrEqual(3 * 9 + 1);
    const report = checkHistory(history, delivered);
    expect(report.ok, describeReport(report)).toBe(true);

    // Lease: kept alive past its TTL, then revoked by another client (this test's): lost.
    const kept = await step(c, "lease-kept");
    expect(kept).toMatchObject({ present: true, state: "alive" });
    await pc.admin.lease.revoke(BigInt(kept.id as string));
    expect(await step(c, "lease-lost")).toMatchObject({
      error: "LeaseLostError",
      reason: "expired",
      state: "closed",
      keyGone: true,
    });

    // Auth: the token expired while idle; the put after it, and a watch created after it, work.
    expect(await step(c, "auth")).toEqual({
      type: "auth",
      value: "2",
      first: [`${prefix}auth/b`],
      second: [`${prefix}auth/b`],
    });
    const refused = await callsHandled(pc.cluster.endpoint, "etcdserverpb.KV/Put", "Unauthenticated");
    expect(refused, "etcd never refused an expired token: the expiry path did not run").toBeGreaterThan(0);

    expect(await step(c, "discovery")).toEqual({
      type: "discovery",
      added: "127.0.0.1:50051",
      removed: "127.0.0.1:50051",
      left: 0,
    });
    const mutex = await step(c, "mutex");
    expect(mutex).toMatchObject({ heldWhileQueued: false, held: true });
    expect(BigInt(mutex.second as string)).toBeGreaterThan(BigInt(mutex.first as string));

    // Everything closed: the runtime ends the process by itself.
    await step(c, "closed");
    const exit = await c.waitForExit(`${runtime.name} ending the process after everything was closed`);
    expect(exit, c.stderrTail()).toEqual({ code: 0, signal: null });
  } finally {
    await child?.kill();
    await pc.close();
  }
}

type Transport = NonNullable<ScenarioArgs["transport"]>;

/**
 * The default transport everywhere, and h2-net (a transport on node:net must behave the same on all
 * three); grpc-js and connect-node on Bun and Deno too (on Node the conformance suite covers them), so
 * that the support matrix in the README is what CI checked.
 */
const MATRIX: [Runtime["name"], Transport][] = [
  ["node", "default"],
  ["bun", "default"],
  ["deno", "default"],
  ["node", "h2-net"],
  ["bun", "h2-net"],
  ["deno", "h2-net"],
  ["bun", "grpc-js"],
  ["deno", "grpc-js"],
  ["bun", "connect-node"],
  ["deno", "connect-node"],
];

describe("etcd-ts under Node, Bun and Deno (test/runtimes/scenario.ts)", () => {
  const runtimes = findRuntimes();
  for (const [name, transport] of MATRIX) {
    const runtime = runtimes.find((r) => r.name === name)!;
    const skip = runtime.executable === undefined && !REQUIRE_RUNTIMES;
    const title = runtime.executable
      ? `${runtime.name} ${runtime.version}, ${transport} transport: KV, txn, watch across a cut, lease, auth expiry, discovery, mutex, exit`
      : `${runtime.name}, ${transport} transport: ${REQUIRE_RUNTIMES ? "" : "skipped, "}${runtime.missing}`;
    it.skipIf(skip)(title, { concurrent: true, timeout: 90_000 }, () => runScenario(runtime, transport));
  }
});

describe("mTLS on every transport under Node, Bun and Deno (test/runtimes/tls.ts)", () => {
  let cluster: EtcdCluster;
  beforeAll(async () => {
    cluster = await startEtcd({ tls: { clientCertAuth: true } });
  });
  afterAll(async () => {
    await cluster?.close();
  });

  for (const runtime of findRuntimes()) {
    const skip = runtime.executable === undefined && !REQUIRE_RUNTIMES;
    const title = runtime.executable
      ? `${runtime.name} ${runtime.version}: default, h2-net, grpc-js, connect-node`
      : `${runtime.name}: ${REQUIRE_RUNTIMES ? "" : "skipped, "}${runtime.missing}`;
    it.skipIf(skip)(title, { concurrent: true, timeout: 60_000 }, async () => {
      if (!runtime.executable) throw new Error(`${runtime.name} is not installed: ${runtime.missing}`);
      const byIp = cluster.endpoint;
      // The member's certificate names 127.0.0.1 and localhost.
      const byName = byIp.replace("127.0.0.1", "localhost");
      const tls = cluster.tls!;
      const args: TlsArgs = {
        endpoints: [byIp, byName],
        caFile: tls.caFile,
        certFile: tls.clientCertFile,
        keyFile: tls.clientKeyFile,
        key: `tls/${runtime.name}`,
      };
      const [command, argv] = runtime.tsCommand(TLS, [JSON.stringify(args)]);
      const c = Child.spawn(`tls.ts under ${runtime.name}`, command, argv, RUNTIME_ENV);
      try {
        const { results } = (await c.waitFor("the tls line", (e) => e.type === "tls")) as unknown as {
          results: Record<string, string>;
        };
        const works = (transport: string, endpoint: string) =>
          expect(results[`${transport} ${endpoint}`]).toBe(`${transport} ${endpoint}`);
        for (const endpoint of [byIp, byName]) {
          works("default", endpoint);
          works("h2-net", endpoint);
          works("connect-node", endpoint);
        }
        works("grpc-js", byName);
        // grpc-js sends the host as the TLS server name even when it is an IP address: Node only warns
        // (DEP0123), Bun and Deno refuse, so grpc-js over TLS needs a host name there.
        if (runtime.name === "node") works("grpc-js", byIp);
        else expect(results[`grpc-js ${byIp}`]).toMatch(/^error: .*server ?name.*IP address/i);
        const exit = await c.waitForExit(`${runtime.name} ending after the TLS checks`);
        expect(exit, c.stderrTail()).toEqual({ code: 0, signal: null });
      } finally {
        await c.kill();
      }
    });
  }
});
