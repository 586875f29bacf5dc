import { createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { Etcd } from "../../src/client/index.js";
import type { EtcdOptions } from "../../src/client/options.js";
import type { EtcdPort } from "../../src/client/port.js";
import {
  type BalancedTransportOptions,
  createBalancedTransport,
  type Discovery,
  type InstanceChange,
  type RegisterOptions,
  register,
} from "../../src/discovery/index.js";
import type { Cleanup } from "../support/etcd-fixture.js";
import { ConnectTestServer, TestService } from "./servers.js";

/** Short timeouts, so faults show up quickly in tests. */
export const CLIENT_OPTIONS = {
  timeoutMs: 3000,
  endpointCooldownMs: 200,
  keepaliveIntervalMs: 1000,
  keepaliveTimeoutMs: 1000,
} satisfies Partial<EtcdOptions>;

/** A client with {@link CLIENT_OPTIONS}. */
export function client(endpoint: string | string[]): Etcd {
  return new Etcd({ endpoints: endpoint, ...CLIENT_OPTIONS });
}

import { until } from "../support/wait.js";

export { until };

/**
 * Rebuilds a view from a discovery's change events alone and records every inconsistency: an `added`
 * for a key already there (a duplicate), a `removed` or `updated` for a key not there (a gap).
 */
export class ChangeLedger {
  readonly view = new Map<string, unknown>();
  readonly problems: string[] = [];
  changes = 0;

  constructor(discovery: Discovery) {
    discovery.on("changes", (changes) => this.apply(changes));
  }

  apply(changes: readonly InstanceChange[]): void {
    for (const c of changes) {
      this.changes++;
      const had = this.view.has(c.key);
      if (c.type === "added") {
        if (had) this.problems.push(`duplicate add of ${c.key}`);
        this.view.set(c.key, c.instance);
      } else if (c.type === "updated") {
        if (!had) this.problems.push(`update of unknown ${c.key}`);
        this.view.set(c.key, c.instance);
      } else {
        if (!had) this.problems.push(`remove of unknown ${c.key}`);
        this.view.delete(c.key);
      }
    }
  }
}

/**
 * Callers calling without pause until stopped, the traffic of a rolling restart: successes counted,
 * failures kept. `call(worker, i)` is each caller's i-th call.
 */
export class Traffic {
  /** Calls that succeeded so far. */
  ok = 0;
  /** What the calls that failed threw. */
  readonly failures: unknown[] = [];
  #running = true;
  readonly #callers: Promise<void>[];

  constructor(call: (worker: number, i: number) => Promise<unknown>, callers = 4) {
    this.#callers = Array.from({ length: callers }, async (_, worker) => {
      await Promise.resolve(); // the first call after the constructor returned
      for (let i = 0; this.#running; i++) {
        try {
          await call(worker, i);
          this.ok++;
        } catch (err) {
          this.failures.push(err);
        }
      }
    });
  }

  /** Waits until 20 more calls than now have succeeded: the traffic flows (`what` names the wait). */
  async flows(what: string): Promise<void> {
    const before = this.ok;
    await until(what, () => this.ok > before + 20);
  }

  /** Stops the callers and waits for their last calls. */
  async stop(): Promise<void> {
    this.#running = false;
    await Promise.all(this.#callers);
  }
}

/** What {@link registeredServer} takes beside `register()`'s options (`ttl` defaults to 5 s there). */
export interface RegisteredServerOptions extends Partial<Omit<RegisterOptions, "service" | "addr">> {
  /** How long the server waits before each answer. Default 0. */
  delayMs?: number;
  /** The port to listen on (a restart on the same address). Default: a free one. */
  port?: number;
}

/**
 * A Connect test server registered under `service` in `etcd`, both closed by `cleanups` (a fixture's
 * list, run after the test): the instance of the balancer suites.
 */
export async function registeredServer(
  etcd: EtcdPort,
  cleanups: Cleanup[],
  service: string,
  { delayMs = 0, port, ...options }: RegisteredServerOptions = {},
): Promise<{ server: ConnectTestServer; registration: Awaited<ReturnType<typeof register>> }> {
  const server = await ConnectTestServer.start(delayMs, port);
  const registration = await register(etcd, { ttl: 5, ...options, service, addr: server.addr });
  cleanups.push(
    () => server.kill(),
    () => registration.close(),
  );
  return { server, registration };
}

/**
 * A balanced Connect transport over `options` (each instance's `addr` over gRPC unless
 * `options.createTransport` says otherwise), closed by `cleanups`, and a `TestService` client on it.
 */
export function balancedApi(cleanups: Cleanup[], options: Partial<BalancedTransportOptions>) {
  const transport = createBalancedTransport({
    createTransport: (addr) => createGrpcTransport({ baseUrl: `http://${addr}` }),
    ...options,
  } as BalancedTransportOptions);
  cleanups.push(() => transport.close());
  return { transport, api: createClient(TestService, transport) };
}
