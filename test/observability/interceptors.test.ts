import { Code, ConnectError, type Interceptor } from "@connectrpc/connect";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Etcd, type EtcdOptions, FutureRevisionError } from "../../src/client/index.js";
import { createConnectNodeTransport } from "../../src/connect-node/index.js";
import { createGrpcJsTransport } from "../../src/grpc-js/index.js";
import { type EtcdCluster, startEtcd } from "../../src/testing/index.js";
import { mintToken } from "../support/auth-tokens.js";
import { collect } from "../support/collect.js";
import { enableAuth } from "../support/etcdctl.js";
import { until } from "../support/wait.js";

/**
 * The `interceptors` option, on each of the three transports, against real etcd with auth on. The
 * clients get NO auth option: their only credential is the `token` header an interceptor adds, so a call
 * or watch that succeeds proves the header reached etcd on that transport.
 */
const ROOT_PW = "root-Intercept-pw-1";

let cluster: EtcdCluster;
let token: string;
const clients: Etcd[] = [];

beforeAll(async () => {
  cluster = await startEtcd();
  await enableAuth(cluster.endpoint, { rootPassword: ROOT_PW });
  token = await mintToken(cluster.endpoint, "root", ROOT_PW);
});

afterAll(async () => {
  await Promise.all(clients.map((c) => c.close()));
  await cluster?.close();
});

const transports: { name: string; transport: EtcdOptions["transport"] }[] = [
  { name: "default (h2-net)", transport: undefined },
  { name: "node:http2", transport: "http2" },
  { name: "grpc-js", transport: (e) => createGrpcJsTransport({ baseUrl: e.url }) },
  { name: "connect-node", transport: (e) => createConnectNodeTransport({ baseUrl: e.url }) },
];

/** What the recording interceptor saw of one RPC. */
interface Seen {
  method: string;
  stream: boolean;
  url: string;
  /** Messages the server sent on a stream, as they passed the interceptor. */
  received: number;
  error?: unknown;
}

describe.each(transports)("interceptors on the $name transport", ({ transport }) => {
  it("see unary calls and the watch stream, add a header etcd acts on, and observe errors", async () => {
    const seen: Seen[] = [];
    const order: string[] = [];
    // The first interceptor is outermost: it runs first and sees what the inner one passed on.
    const outer: Interceptor = (next) => async (req) => {
      order.push(`outer:${req.method.name}`);
      return next(req);
    };
    const recorder: Interceptor = (next) => async (req) => {
      order.push(`inner:${req.method.name}`);
      req.header.set("token", token);
      const entry: Seen = { method: req.method.name, stream: req.stream, url: req.url, received: 0 };
      seen.push(entry);
      try {
        const res = await next(req);
        if (!res.stream) return res;
        const messages = res.message;
        return {
          ...res,
          message: (async function* () {
            for await (const m of messages) {
              entry.received++;
              yield m;
            }
          })(),
        };
      } catch (err) {
        entry.error = err;
        throw err;
      }
    };
    const etcd = new Etcd({
      endpoints: cluster.endpoint,
      ...(transport ? { transport } : {}),
      interceptors: [outer, recorder],
    });
    clients.push(etcd);

    await etcd.put("i/key", "v1");
    expect((await etcd.get("i/key"))?.text()).toBe("v1");
    expect(seen.slice(0, 2).map((s) => [s.method, s.stream])).toEqual([
      ["Put", false],
      ["Range", false],
    ]);
    expect(seen[0]!.url).toBe(`${cluster.endpoint}/etcdserverpb.KV/Put`);
    expect(order.slice(0, 2)).toEqual(["outer:Put", "inner:Put"]);

    // The watch stream passes through the interceptors too, its messages included.
    const watch = etcd.watch("i/watched");
    const events = collect(watch);
    await watch.created;
    await etcd.put("i/watched", "w");
    await until("the watch to deliver through the interceptor", () => events.keys.length > 0);
    const stream = seen.find((s) => s.method === "Watch");
    expect(stream).toMatchObject({ stream: true });
    expect(stream!.received).toBeGreaterThanOrEqual(2); // created + the event
    await watch.close();

    // An error passes back through the interceptors as the transport's ConnectError, then is typed.
    const failure = await etcd.get("i/key", { revision: 1_000_000 }).catch((e: unknown) => e);
    expect(failure).toBeInstanceOf(FutureRevisionError);
    const errored = seen.filter((s) => s.error !== undefined);
    expect(errored.map((s) => s.method)).toEqual(["Range"]);
    expect(ConnectError.from(errored[0]!.error).code).toBe(Code.OutOfRange);
  });
});

it("a client without the interceptor's header is refused: the header is what made the calls work", async () => {
  const etcd = new Etcd({ endpoints: cluster.endpoint, retry: { maxAttempts: 1 } });
  clients.push(etcd);
  const failure = await etcd.put("i/key", "v2").catch((e: unknown) => e);
  expect(failure).toMatchObject({ code: Code.InvalidArgument });
});

it("rejects an interceptors option that is not an array of functions", () => {
  expect(() => new Etcd({ endpoints: cluster.endpoint, interceptors: [42 as never] })).toThrow(
    /interceptors: must be an array/,
  );
});
