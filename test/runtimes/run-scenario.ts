import { fileURLToPath } from "node:url";
import { expect } from "vitest";
import {
  crashAndRestart,
  startProcessCluster,
  storeHistory,
  TOKEN_TTL_S,
  write,
} from "../process/support.js";
import { Child, type ChildEvent } from "../support/child.js";
import { checkHistory, describeReport } from "../support/history.js";
import { callsHandled } from "../support/server-metrics.js";
import { RUNTIME_ENV, type Runtime } from "./runtimes.js";
import type { ScenarioArgs } from "./scenario.js";

const SCENARIO = fileURLToPath(new URL("./scenario.ts", import.meta.url));

/** A transport the scenario runs on. */
export type ScenarioTransport = NonNullable<ScenarioArgs["transport"]>;

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

/** Options of {@link runScenario}. */
export interface RunScenarioOptions {
  /**
   * After the cut, etcd is also killed (SIGKILL) and started again on its data while the scenario
   * watches: a restart voids every token too. Default false.
   */
  restart?: boolean;
  /** The TTL of the scenario's kept-alive lease, seconds. Default 2. */
  leaseTtlSeconds?: number;
}

/**
 * The scenario under one runtime, against its own etcd (auth on, tokens expire after TOKEN_TTL_S s of
 * disuse) behind a FaultProxy that the test cuts (and, with `restart`, etcd restarts) while the scenario
 * watches.
 */
export async function runScenario(
  runtime: Runtime,
  transport: ScenarioTransport,
  options: RunScenarioOptions = {},
): Promise<void> {
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
      ...(options.leaseTtlSeconds === undefined ? {} : { leaseTtlSeconds: options.leaseTtlSeconds }),
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
    if (options.restart) {
      await crashAndRestart(pc);
      await writeSome("restarted", 8);
    }
    const end = await write(pc, `${prefix}w/end`, "e");
    const done = await step(c, "watch-done");
    const delivered = (done.events as { revision: string; key: string; type: "put" | "delete" }[]).map(
      (e) => ({ ...e, revision: BigInt(e.revision) }),
    );
    const history = await storeHistory(pc, `${prefix}w/`, from, end);
    expect(history.length).toBeGreaterThanOrEqual((options.restart ? 4 : 3) * 9 + 1);
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
