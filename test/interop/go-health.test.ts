// grpc-go's standard health service (google.golang.org/grpc/health, served by the Go program of
// test/interop/go) read by etcd-ts' active health checks: Go servers registered by Go's naming/endpoints,
// balanced by etcd-ts' transport with healthCheck on, in Watch and in Check mode. A Go server set
// NOT_SERVING gets no calls while the other takes all; it comes back when SERVING; Go's Shutdown() and a
// service name Go does not know leave it out too.
import { createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Greeter } from "../../examples/greeter/gen/helloworld/helloworld_pb.js";
import { type BalancedTransport, createBalancedTransport } from "../../src/discovery/index.js";
import type { Etcd } from "../../src/index.js";
import { freePort } from "../../src/testing/index.js";
import { useEtcd } from "../support/etcd-fixture.js";
import { until } from "../support/wait.js";
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

let serial = 0;

/** A grpc-go server with grpc-go's health service, registered by Go's endpoints.Manager under `service`. */
async function goInstance(service: string) {
  const handle = `health-${++serial}`;
  const addr = `127.0.0.1:${await freePort()}`;
  await go.request("health-serve", { handle, addr });
  cleanups.push(() => go.request("health-stop", { handle }));
  const key = `${service}/${addr}`;
  await go.request("add-endpoint", { service, key, addr, ttl: 10 });
  cleanups.push(() => go.request("delete-endpoint", { service, key }));
  const set = (value: string, name = "") => go.request("health-set", { handle, service: name, value });
  return { addr, key, set };
}

function balanced(
  service: string,
  healthCheck: object,
): { transport: BalancedTransport; say: () => Promise<string> } {
  const transport = createBalancedTransport({
    etcd,
    service,
    createTransport: (addr) => createGrpcTransport({ baseUrl: `http://${addr}` }),
    healthCheck,
  });
  cleanups.push(() => transport.close());
  const api = createClient(Greeter, transport);
  return { transport, say: async () => (await api.sayHello({ name: "health" })).message };
}

async function answers(say: () => Promise<string>, n: number): Promise<string[]> {
  const out: string[] = [];
  for (let i = 0; i < n; i++) out.push(await say());
  return out;
}

describe("grpc-go's health service read by etcd-ts' active health checks", () => {
  for (const mode of ["watch", "check"] as const) {
    it(`${mode}: a Go server NOT_SERVING gets no calls; SERVING again, it gets its share`, async () => {
      const service = `go-health-${mode}`;
      const a = await goInstance(service);
      const b = await goInstance(service);
      const { transport, say } = balanced(service, { mode, intervalMs: 100, timeoutMs: 5000 });
      expect(new Set(await answers(say, 4))).toEqual(new Set([a.addr, b.addr]));

      await a.set("NOT_SERVING");
      await until("a seen NOT_SERVING", () => transport.unhealthy().includes(a.key));
      expect(transport.unhealthy()).toEqual([a.key]);
      expect((await answers(say, 20)).every((addr) => addr === b.addr)).toBe(true);

      await a.set("SERVING");
      await until("a seen SERVING", () => transport.unhealthy().length === 0);
      expect(new Set(await answers(say, 10))).toEqual(new Set([a.addr, b.addr]));

      // grpc-go's Shutdown() (what a Go server does as it stops) makes every service NOT_SERVING.
      await a.set("shutdown");
      await until("a seen after Shutdown()", () => transport.unhealthy().includes(a.key));
      expect((await answers(say, 10)).every((addr) => addr === b.addr)).toBe(true);
    });
  }

  it("a service name the Go server does not know is not serving (Watch: SERVICE_UNKNOWN; Check: NOT_FOUND)", async () => {
    const service = "go-health-named";
    const a = await goInstance(service);
    const b = await goInstance(service);
    await a.set("SERVING", "helloworld.Greeter");
    for (const mode of ["watch", "check"] as const) {
      const { transport, say } = balanced(service, {
        mode,
        intervalMs: 100,
        timeoutMs: 5000,
        service: "helloworld.Greeter",
      });
      await until(`${mode}: b unknown to Go's health service`, () => transport.unhealthy().includes(b.key));
      expect(transport.unhealthy()).toEqual([b.key]);
      expect((await answers(say, 10)).every((addr) => addr === a.addr)).toBe(true);
      await transport.close();
    }
  });
});
