import { createClient } from "@connectrpc/connect";
import { type BalancePolicy, createBalancedTransport, register } from "../../src/discovery/index.js";
import { createHttp2Transport, type Etcd } from "../../src/index.js";
import { freePort } from "../../src/testing/index.js";
import { startConnectNodeGreeter } from "./connect-node-server.js";
import { Greeter } from "./gen/helloworld/helloworld_pb.js";

/** The service of this phase, apart from the demo's `greeter` so that its counts are its own. */
export const LATENCY_SERVICE = "greeter-latency";
/**
 * How much slower the slow instance answers: far above what a busy machine adds to a fast instance's
 * answer, so the slow one's share does not hang on the host's load (at 50 ms, a fully loaded 2-core host
 * once gave it 21 of 90 calls, its fast peers' latency peaks being near its own).
 */
export const SLOW_BY_MS = 200;
/** Calls made one after another under each policy. */
export const CALLS_PER_POLICY = 90;

/** Answers per `impl@addr` under each policy compared. */
export type SharesByPolicy = Map<BalancePolicy, Map<string, number>>;

/**
 * Two fast Greeters and one answering {@link SLOW_BY_MS} ms later register as {@link LATENCY_SERVICE};
 * a client makes {@link CALLS_PER_POLICY} calls, one at a time, through a balanced transport with
 * `round-robin` (each instance gets its third: calls in flight could not tell them apart either), and as
 * many, at the same time, through one with `p2c-ewma` (the slow one's latency makes it lose nearly all of
 * its share). Prints the counts and stops
 * what it started.
 */
export async function slowInstancePhase(
  serverEtcd: Etcd,
  clientEtcd: Etcd,
  log: (line: string) => void,
): Promise<SharesByPolicy> {
  const cleanup: Array<() => Promise<unknown>> = [];
  try {
    for (const [impl, delayMs] of [
      ["fast-1", 0],
      ["fast-2", 0],
      ["slow", SLOW_BY_MS],
    ] as const) {
      const server = await startConnectNodeGreeter(await freePort(), impl, { delayMs });
      cleanup.push(() => server.shutdown());
      const registration = await register(serverEtcd, {
        service: LATENCY_SERVICE,
        addr: server.addr,
        ttl: 3,
      });
      cleanup.push(() => registration.deregister());
      log(
        `   ${`${impl}@${server.addr}`.padEnd(32)} answers ${delayMs === 0 ? "at once" : `${delayMs} ms later`}`,
      );
    }
    // Both policies at once, each with its own transport (and its own latency records): the demo waits
    // for the round-robin loop's slow calls once, not twice.
    const policies = ["round-robin", "p2c-ewma"] as const;
    const counted = await Promise.all(policies.map((policy) => countAnswers(clientEtcd, policy)));
    const shares: SharesByPolicy = new Map(policies.map((policy, i) => [policy, counted[i]!]));
    for (const [policy, counts] of shares) {
      for (const [who, n] of [...counts].sort(([a], [b]) => a.localeCompare(b)))
        log(
          `   ${policy.padEnd(12)} ${who.padEnd(32)} answered ${String(n).padStart(3)} of ${CALLS_PER_POLICY}`,
        );
    }
    return shares;
  } finally {
    for (const step of cleanup.reverse()) await step().catch(() => {});
  }
}

/** Makes {@link CALLS_PER_POLICY} calls one after another under `policy`; counts them by who answered. */
async function countAnswers(etcd: Etcd, policy: BalancePolicy): Promise<Map<string, number>> {
  const transport = createBalancedTransport({
    etcd,
    service: LATENCY_SERVICE,
    policy,
    // A short decay: a hiccup of a busy machine on a fast instance is forgotten within a second.
    p2cEwma: { decayMs: 1000 },
    createTransport: (addr) => createHttp2Transport({ baseUrl: `http://${addr}` }),
  });
  try {
    const greeter = createClient(Greeter, transport);
    const counts = new Map<string, number>();
    for (let i = 0; i < CALLS_PER_POLICY; i++) {
      const { message } = await greeter.sayHello({ name: policy });
      const who = message.slice(message.lastIndexOf(" ") + 1);
      counts.set(who, (counts.get(who) ?? 0) + 1);
    }
    return counts;
  } finally {
    await transport.close();
  }
}
