import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type EtcdCluster, startEtcd } from "../../src/testing/index.js";
import { Child } from "../support/child.js";
import { runScenario, type ScenarioTransport } from "./run-scenario.js";
import { findRuntimes, REQUIRE_RUNTIMES, RUNTIME_ENV, type Runtime } from "./runtimes.js";
import type { TlsArgs } from "./tls.js";

const TLS = fileURLToPath(new URL("./tls.ts", import.meta.url));

/**
 * The default transport (h2-net, on node:net: it must behave the same on all three) everywhere, and the
 * node:http2 fallback (`transport: "http2"`); grpc-js and connect-node on Bun and Deno too (on Node the conformance suite covers them), so
 * that the support matrix in the README is what CI checked.
 */
const MATRIX: [Runtime["name"], ScenarioTransport][] = [
  ["node", "default"],
  ["bun", "default"],
  ["deno", "default"],
  ["node", "http2"],
  ["bun", "http2"],
  ["deno", "http2"],
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
      ? `${runtime.name} ${runtime.version}: default (h2-net), http2, grpc-js, connect-node`
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
          works("http2", endpoint);
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
