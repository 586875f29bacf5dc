/**
 * `npm run demo`: service discovery end to end. A throwaway etcd (test kit), three Greeter servers that
 * register themselves (grpc-js and connect-node in this process, grpc-js in a child process), and a
 * client calling SayHello every 100 ms through discovery. Then one server stops gracefully, one is
 * SIGKILLed, a new one starts on a new port, and the client carries on. Then a slow instance loses its
 * share of calls under the `p2c-ewma` policy. Everything is torn down at the end.
 */

import { pathToFileURL } from "node:url";
import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import { createClient } from "@connectrpc/connect";
import * as grpc from "@grpc/grpc-js";
import { createBalancedTransport, discover, type Registration, register } from "../../src/discovery/index.js";
import { registerEtcdResolver } from "../../src/grpc-js/index.js";
import { createHttp2Transport, Etcd } from "../../src/index.js";
import { freePort, startEtcd } from "../../src/testing/index.js";
import { CallLoop } from "./call-loop.js";
import { ChildGreeter } from "./child-greeter.js";
import { startConnectNodeGreeter } from "./connect-node-server.js";
import { Greeter, HelloReplySchema, HelloRequestSchema } from "./gen/helloworld/helloworld_pb.js";
import { CHILD_IMPL, type GreeterServer } from "./greeter-server.js";
import { startGrpcJsGreeter } from "./grpc-js-server.js";
import { reportFailures } from "./report-failures.js";
import { CALLS_PER_POLICY, type SharesByPolicy, slowInstancePhase } from "./slow-instance.js";
import { stopGracefully } from "./stop-gracefully.js";

/** Lease TTL of every registration: how long a crashed server stays listed. Short, so the demo is quick. */
const TTL_SECONDS = 3;
const SERVICE = "greeter";

/** What the demo saw; also printed as its summary. */
export interface DemoReport {
  ok: number;
  failed: number;
  /** Attempts that failed on one instance and that the balanced transport sent again elsewhere. */
  retriedAttempts: number;
  /** Answers per `impl@addr`, in the order the instances first answered. */
  answers: Map<string, number>;
  /** Phase 8: answers per `impl@addr` under round-robin and under p2c-ewma. */
  shares: SharesByPolicy;
}

/** Runs the demo, printing through `log`; resolves once everything it started is stopped. */
export async function main(log: (line: string) => void = console.log): Promise<DemoReport> {
  const cleanup: Array<() => Promise<unknown>> = [];
  const header = (title: string) => log(`\n== ${title}`);
  const label = (s: { impl: string; addr: string }) => `${s.impl}@${s.addr}`;
  try {
    header("1. a throwaway etcd from the test kit (etcd-ts/testing)");
    const cluster = await startEtcd();
    cleanup.push(() => cluster.close());
    log(`   ${cluster.endpoint} (pid ${cluster.members[0]!.pid})`);

    header(`2. three Greeter servers register themselves as "${SERVICE}" (lease TTL ${TTL_SECONDS} s)`);
    const serverEtcd = new Etcd({ endpoints: cluster.endpoints });
    cleanup.push(() => serverEtcd.close());
    const registered = async (server: GreeterServer): Promise<Registration> => {
      cleanup.push(() => server.shutdown());
      const registration = await register(serverEtcd, {
        service: SERVICE,
        addr: server.addr,
        ttl: TTL_SECONDS,
        metadata: { impl: server.impl },
      });
      cleanup.push(() => registration.deregister());
      log(`   ${label(server).padEnd(32)} this process, key ${registration.key}`);
      return registration;
    };
    const grpcJs = await startGrpcJsGreeter(await freePort());
    await registered(grpcJs);
    const connectNode = await startConnectNodeGreeter(await freePort());
    const connectNodeRegistration = await registered(connectNode);
    const startChild = async () => {
      const child = await ChildGreeter.start(cluster.endpoint, await freePort(), { ttl: TTL_SECONDS, log });
      cleanup.push(() => child.terminate());
      log(
        `   ${`${CHILD_IMPL}@${child.addr}`.padEnd(32)} pid ${child.pid} (examples/greeter/server-process.ts)`,
      );
      return child;
    };
    const child = await startChild();

    header("3. a client calls SayHello every 100 ms through discovery (round robin over live instances)");
    const clientEtcd = new Etcd({ endpoints: cluster.endpoints });
    cleanup.push(() => clientEtcd.close());
    const greeters = discover(clientEtcd, SERVICE);
    cleanup.push(() => greeters.close());
    let retriedAttempts = 0;
    const transport = createBalancedTransport({
      discovery: greeters,
      createTransport: (addr, instance) =>
        reportFailures(createHttp2Transport({ baseUrl: `http://${addr}` }), (err) => {
          retriedAttempts++;
          const impl = (instance.metadata as { impl?: string } | null)?.impl;
          log(`   ! attempt on ${impl}@${addr} failed (${err.message}); sent again to another instance`);
        }),
      // helloworld's SayHello carries no idempotency option, so by default a call that failed with
      // UNAVAILABLE is not sent again. It has no side effects: the demo declares it safe to retry.
      isRetryable: (method) => method === Greeter.method.sayHello,
    });
    cleanup.push(() => transport.close());
    const loop = new CallLoop(createClient(Greeter, transport), { log });
    cleanup.push(() => loop.stop());
    loop.phase = "three servers";
    loop.start();
    await loop.moreAnswers(20); // about 2 s

    header(`4. stop ${label(connectNode)} gracefully: drain, wait for calls in flight, deregister, close`);
    loop.phase = "graceful stop";
    await stopGracefully(connectNodeRegistration, connectNode, (line) => log(`   ${line}`));
    await loop.moreAnswers(10);

    header(`5. SIGKILL the child process (pid ${child.pid}): a crash, its key stays until the lease expires`);
    loop.phase = "crash";
    const gone = new Promise<void>((resolve) =>
      greeters.on("removed", (instance) => instance.addr === child.addr && resolve()),
    );
    const killedAt = Date.now();
    log(`   child exited: ${await child.kill()}`);
    await gone;
    log(
      `   ${CHILD_IMPL}@${child.addr} left discovery ${((Date.now() - killedAt) / 1000).toFixed(1)} s later`,
    );

    header("6. start a new server in a new process, on a new port");
    loop.phase = "new server";
    const replacement = await startChild();
    await loop.answeredBy(`${CHILD_IMPL}@${replacement.addr}`);
    loop.phase = "end";
    await loop.moreAnswers(20);
    await loop.stop();

    header(
      `7. the same servers from a plain grpc-js client: target "etcd:///${SERVICE}" (registerEtcdResolver)`,
    );
    registerEtcdResolver(clientEtcd, { policy: "round_robin" });
    const grpcClient = new grpc.Client(`etcd:///${SERVICE}`, grpc.credentials.createInsecure());
    try {
      for (let i = 1; i <= 4; i++)
        log(`   grpc-js client #${i}: ${await grpcSayHello(grpcClient, "grpc-js client")}`);
    } finally {
      grpcClient.close();
    }

    header(
      `8. a slow instance loses its share under p2c-ewma: ${CALLS_PER_POLICY} calls under round-robin and under p2c-ewma`,
    );
    const shares = await slowInstancePhase(serverEtcd, clientEtcd, log);

    header("9. summary");
    const report: DemoReport = {
      ok: loop.records.filter((r) => r.answeredBy).length,
      failed: loop.records.filter((r) => r.error).length,
      retriedAttempts,
      answers: new Map(),
      shares,
    };
    for (const r of loop.records) {
      if (r.answeredBy) report.answers.set(r.answeredBy, (report.answers.get(r.answeredBy) ?? 0) + 1);
    }
    log(
      `   calls: ${report.ok} ok, ${report.failed} failed; ${retriedAttempts} attempt(s) retried elsewhere`,
    );
    for (const [who, n] of report.answers) log(`   ${who.padEnd(32)} answered ${n}`);
    const lastPhase = new Set(loop.records.filter((r) => r.phase === "end").map((r) => r.answeredBy));
    log(`   answering at the end: ${[...lastPhase].join(", ")}`);

    header("10. teardown: SIGTERM the child (it drains, deregisters, exits 0), stop the rest, stop etcd");
    log(`   child pid ${replacement.pid} exited: ${await replacement.terminate()}`);
    return report;
  } finally {
    for (const step of cleanup.reverse()) await step().catch(() => {});
  }
}

/** SayHello through a plain grpc-js client; resolves the reply's message. */
function grpcSayHello(client: grpc.Client, name: string): Promise<string> {
  return new Promise((resolve, reject) =>
    client.makeUnaryRequest(
      `/${Greeter.typeName}/${Greeter.method.sayHello.name}`,
      (m: unknown) => Buffer.from(toBinary(HelloRequestSchema, m as never)),
      (b: Buffer) => fromBinary(HelloReplySchema, b),
      create(HelloRequestSchema, { name }),
      { deadline: Date.now() + 5000 },
      (err, reply) => (err ? reject(err) : resolve(reply!.message)),
    ),
  );
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  await main();
  console.log("\ndone: etcd, servers and the child process are stopped");
}
