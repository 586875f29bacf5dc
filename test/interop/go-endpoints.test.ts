// Several endpoints per instance across languages: etcd-ts registers one process with a gRPC address
// (its `addr`) and an HTTP address (`endpoints.http`). Go's naming/endpoints (test/interop/go, Manager.List)
// reads the registration and sees the gRPC address with a hashable Metadata; grpc-go's etcd:/// resolver
// calls the gRPC server; etcd-ts' balanced transport with `protocol: "http"` calls the HTTP server.
import http from "node:http";
import type { AddressInfo } from "node:net";
import { type ConnectRouter, createClient } from "@connectrpc/connect";
import { connectNodeAdapter, createConnectTransport } from "@connectrpc/connect-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Greeter } from "../../examples/greeter/gen/helloworld/helloworld_pb.js";
import { greeting } from "../../examples/greeter/greeter-server.js";
import { startGrpcJsGreeter } from "../../examples/greeter/grpc-js-server.js";
import { createBalancedTransport, register } from "../../src/discovery/index.js";
import type { Etcd } from "../../src/index.js";
import { useEtcd } from "../support/etcd-fixture.js";
import { within } from "../support/wait.js";
import { buildGoProgram } from "./go-build.js";
import { GoProgram } from "./go-program.js";

const env = useEtcd();
const { cleanups } = env;
let etcd: Etcd;
let go: GoProgram;

beforeAll(async () => {
  const binary = await buildGoProgram();
  etcd = env.client();
  go = await GoProgram.start(binary, { endpoints: env.cluster.endpoints });
}, 15 * 60_000); // a cold `go build` on a busy 2-core machine; cached afterwards
afterAll(async () => {
  await go?.close();
});

type Listed = {
  endpoints: Record<string, { addr: string; metadata: unknown; metadataType: string; hashable: boolean }>;
};

/**
 * A Greeter speaking the Connect protocol over HTTP/1.1 only, answering as `http@<url>`, on a port the
 * kernel picks at bind time (no window for another process to take it).
 */
async function startHttpGreeter(): Promise<{ url: string; close: () => Promise<void> }> {
  let url = "";
  const routes = (router: ConnectRouter) =>
    router.service(Greeter, { sayHello: (req) => ({ message: greeting(req.name, "http", url) }) });
  const server = http.createServer(connectNodeAdapter({ routes, grpc: false, grpcWeb: false }));
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => resolve());
  });
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

describe("several endpoints per instance, read by Go's naming/endpoints", () => {
  it("Go sees the gRPC address and calls it; an etcd-ts client choosing http reaches the HTTP address", async () => {
    const service = "go-multi-endpoint";
    const grpcServer = await startGrpcJsGreeter(0, "grpc");
    const web = await startHttpGreeter();
    // Undone last first: the registration, then Go's channel (a graceful stop waits for it), then servers.
    // A stop that hangs says which one, instead of the after-each hook's timeout.
    cleanups.push(
      () => within(grpcServer.shutdown(), "the grpc-js Greeter's shutdown"),
      () => within(web.close(), "the HTTP Greeter's close"),
      () => go.request("close-channels"),
    );
    const registration = await register(etcd, {
      service,
      addr: grpcServer.addr,
      endpoints: { http: web.url },
      metadata: { shard: 1 },
      ttl: 10,
    });
    cleanups.push(() => registration.close());

    const listed = await go.request<Listed>("list-endpoints", { service });
    expect(listed.endpoints).toEqual({
      [`${service}/${grpcServer.addr}`]: {
        addr: grpcServer.addr,
        metadata: JSON.stringify({ shard: 1 }),
        metadataType: "string",
        hashable: true,
      },
    });
    const viaGo = await go.request<{ message: string }>("call", { service, name: "go" });
    expect(viaGo.message).toBe(greeting("go", "grpc", grpcServer.addr));

    const transport = createBalancedTransport({
      etcd,
      service,
      protocol: "http",
      createTransport: (url) => createConnectTransport({ baseUrl: url, httpVersion: "1.1" }),
    });
    cleanups.push(() => transport.close());
    const reply = await createClient(Greeter, transport).sayHello({ name: "ts" });
    expect(reply.message).toBe(greeting("ts", "http", web.url));
  });
});
