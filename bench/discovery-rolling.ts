import { Code, ConnectError, createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { createBalancedTransport, type Registration, register } from "../src/discovery/index.js";
import type { Etcd } from "../src/index.js";
import { ConnectTestServer, TestService } from "../test/discovery/servers.js";

/** Outcome of one rolling restart under paced load. */
export interface RollingResult {
  mode: "drain" | "no-drain";
  ok: number;
  failed: number;
  /** Failed calls by Connect code name. */
  failures: Record<string, number>;
  /** Calls started per second over the whole window (target 500). */
  achievedRate: number;
  durationMs: number;
}

/** Options of {@link rollingRestart}. */
export interface RollingOptions {
  /** Registers the instances (server side). */
  registrar: Etcd;
  /** Watches them (client side). */
  watcher: Etcd;
  service: string;
  mode: "drain" | "no-drain";
  /** Calls started per second. */
  rate: number;
  /** Handler latency of the test servers, ms, so that calls are in flight when a server goes. */
  handlerDelayMs: number;
  /** Traffic before, between and after restarts, ms. */
  settleMs: number;
}

interface Live {
  server: ConnectTestServer;
  registration: Registration;
}

/**
 * 3 connect-node servers registered in etcd, a balanced transport paced at `rate` calls/s (a timer that
 * starts the calls due, not a loop), and each server replaced in turn. The method is treated as not
 * retryable so that a retry cannot hide a failure (only calls that provably never left are retried).
 * - drain: drain, wait 200 ms, deregister, graceful shutdown (waits for calls in flight), start a new one
 *   on a new port and register it;
 * - no-drain: destroy the server's connections at once, then deregister it and start the new one.
 */
export async function rollingRestart(o: RollingOptions): Promise<RollingResult> {
  const start = async (): Promise<Live> => {
    const server = await ConnectTestServer.start(o.handlerDelayMs);
    const registration = await register(o.registrar, { service: o.service, addr: server.addr, ttl: 5 });
    return { server, registration };
  };
  const live: Live[] = [await start(), await start(), await start()];
  const transport = createBalancedTransport({
    etcd: o.watcher,
    service: o.service,
    createTransport: (addr) => createGrpcTransport({ baseUrl: `http://${addr}` }),
    isRetryable: () => false,
  });
  const api = createClient(TestService, transport);
  let ok = 0;
  let failed = 0;
  const failures: Record<string, number> = {};
  const pending = new Set<Promise<void>>();
  const call = () => {
    const p = api
      .status({}, { timeoutMs: 3000 })
      .then(
        () => {
          ok++;
        },
        (err) => {
          failed++;
          const name = Code[ConnectError.from(err).code] ?? "unknown";
          failures[name] = (failures[name] ?? 0) + 1;
        },
      )
      .finally(() => pending.delete(p));
    pending.add(p);
  };
  // Warm the view and connections outside the measured window.
  for (let i = 0; i < 6; i++) await api.status({});

  let started = 0;
  const t0 = performance.now();
  const pacer = setInterval(() => {
    const due = Math.floor(((performance.now() - t0) * o.rate) / 1000);
    while (started < due) {
      started++;
      call();
    }
  }, 5);
  const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));
  try {
    await pause(o.settleMs);
    for (let i = 0; i < 3; i++) {
      const old = live.shift()!;
      if (o.mode === "drain") {
        await old.registration.drain();
        await pause(200);
        await old.registration.deregister();
        await old.server.shutdown();
      } else {
        old.server.kill();
        await old.registration.deregister();
      }
      live.push(await start());
      await pause(o.settleMs);
    }
  } finally {
    clearInterval(pacer);
  }
  const durationMs = performance.now() - t0;
  await Promise.all(pending);
  await transport.close();
  for (const l of live) {
    await l.registration.deregister();
    l.server.kill();
  }
  return {
    mode: o.mode,
    ok,
    failed,
    failures,
    achievedRate: Math.round((started / durationMs) * 1000),
    durationMs: Math.round(durationMs),
  };
}
