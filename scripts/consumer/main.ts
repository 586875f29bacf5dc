/**
 * A program that uses etcd-ts as an npm user does: `scripts/check-consumer.sh` installs the packed tarball
 * into a fresh project, typechecks this file under strict settings (tsconfig.nodenext.json,
 * tsconfig.bundler.json) with TypeScript 5.9 and 7, and runs it against a throwaway etcd. It imports every
 * public entry point and uses each one; it must end with exit code 0 and leave nothing running.
 */

import { trace } from "@opentelemetry/api";
import { diagnosticsChannels, Etcd, Mutex, type ResolvedEndpoint, Session, type WatchBatch } from "etcd-ts";
import { createConnectNodeTransport } from "etcd-ts/connect-node";
import { discover, notDraining, register, type ServiceInstance } from "etcd-ts/discovery";
import { KV } from "etcd-ts/gen/etcdserverpb/rpc_pb";
import { createGrpcJsTransport } from "etcd-ts/grpc-js";
import { instrumentEtcd } from "etcd-ts/otel";
import { startEtcd } from "etcd-ts/testing";
import { discover as discoverOnWeb, Etcd as WebEtcd, type WatchBatch as WebWatchBatch } from "etcd-ts/web";
import * as browserBundle from "etcd-ts/web/browser";

function check(condition: boolean, what: string): asserts condition {
  if (!condition) throw new Error(`consumer check failed: ${what}`);
}

await using cluster = await startEtcd();

// The default transport: put, get, and one watch event (watched from the put's revision, so no race).
{
  await using etcd = new Etcd({ endpoints: cluster.endpoints });
  const { revision } = await etcd.put("consumer/greeting", "hello");
  const kv = await etcd.get("consumer/greeting");
  check(kv?.text() === "hello", `get returned ${kv?.text()}`);

  await using watcher = etcd.watch({ prefix: "consumer/" }, { startRevision: revision });
  let batch: WatchBatch | undefined;
  for await (batch of watcher) if (batch.events.length > 0) break;
  const event = batch?.events[0];
  check(event?.type === "put" && event.kv.text() === "hello", "the watch did not deliver the put");

  // Discovery: register an instance and see it in a discovery view.
  await using registration = await register(etcd, { service: "consumer", addr: "127.0.0.1:50051", ttl: 10 });
  await using view = discover(etcd, "consumer", { filter: notDraining });
  await view.ready;
  const instances: ServiceInstance[] = view.instances();
  check(
    instances.some((i) => i.addr === "127.0.0.1:50051"),
    "discovery did not see the registration",
  );
  check(registration.state === "registered", `registration is ${registration.state}`);

  // A namespace view, a session and a lock in it; every live object's end, as a promise that never rejects.
  const app = etcd.namespace("consumer-app/");
  const maybeSignal: AbortSignal | undefined = undefined; // options take `undefined` under exactOptionalPropertyTypes
  const maybeNumber: number | undefined = undefined;
  await app.put("k", "v", { signal: maybeSignal, timeoutMs: maybeNumber });
  const probe = app.watch("k", { signal: maybeSignal, startRevision: maybeNumber });
  await probe.close();
  check((await etcd.get("consumer-app/k"))?.text() === "v", "the namespace did not prefix the key");
  const session = await Session.create(app, { ttl: 10 });
  const mutex = new Mutex(session, "lock");
  await mutex.lock({ timeoutMs: 5000 });
  check(mutex.state === "locked" && mutex.signal.aborted === false, `mutex is ${mutex.state}`);
  await mutex.close();
  await session.close();
  const end: Error | undefined = await session.closed;
  check(end === undefined, `the session ended with ${end}`);
}

// OpenTelemetry on the diagnostics channels (no-op tracer here: the API without an SDK).
{
  using _otel = instrumentEtcd({ tracerProvider: trace.getTracerProvider() });
  check(typeof diagnosticsChannels === "object", "diagnosticsChannels is exported");
  await using etcd = new Etcd({ endpoints: cluster.endpoints });
  check((await etcd.get("consumer/greeting"))?.text() === "hello", "get with otel on");
}

// The grpc-js and connect-node transports, as `transport` factories; `tls` passes straight through.
for (const [name, transport] of [
  [
    "grpc-js",
    (endpoint: ResolvedEndpoint) => createGrpcJsTransport({ baseUrl: endpoint.url, tls: endpoint.tls }),
  ],
  [
    "connect-node",
    (endpoint: ResolvedEndpoint) => createConnectNodeTransport({ baseUrl: endpoint.url, tls: endpoint.tls }),
  ],
] as const) {
  await using etcd = new Etcd({ endpoints: cluster.endpoints, transport });
  check((await etcd.get("consumer/greeting"))?.text() === "hello", `get over ${name}`);
}

// A generated service descriptor (etcd-ts/gen/*) driven through a transport directly, with headers.
{
  await using transport = createConnectNodeTransport({ baseUrl: cluster.endpoint });
  const headers: Record<string, string> = { "x-consumer": "etcd-ts" };
  const response = await transport.unary(KV.method.range, undefined, 5000, headers, {
    key: new TextEncoder().encode("consumer/greeting"),
  });
  check(response.message.count === 1n, `Range counted ${response.message.count}`);
}

// etcd-ts/web: the same API over etcd's JSON gateway with fetch (its default transport), and the
// browser bundle of the same entry, which Node can load too (it has fetch).
for (const [name, Client] of [
  ["etcd-ts/web", WebEtcd],
  ["etcd-ts/web/browser", browserBundle.Etcd],
] as const) {
  await using etcd = new Client({ endpoints: cluster.endpoints });
  const { revision } = await etcd.put("consumer/web", name);
  check((await etcd.get("consumer/web"))?.text() === name, `get over ${name}`);
  await using watcher = etcd.watch("consumer/web", { startRevision: revision });
  let batch: WebWatchBatch | undefined;
  for await (batch of watcher) if (batch.events.length > 0) break;
  check(batch?.events[0]?.kv.text() === name, `the watch over ${name} did not deliver the put`);
}
{
  await using etcd = new WebEtcd({ endpoints: cluster.endpoints });
  await using view = discoverOnWeb(etcd, "consumer");
  await view.ready;
}

console.log("consumer: every entry point typechecked and ran against etcd");
