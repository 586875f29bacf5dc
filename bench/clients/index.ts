import { resolve } from "node:path";
import { createGatewayTransport } from "../../src/client/transport/gateway/index.js";
import { createH2NetTransport } from "../../src/client/transport/h2-net/index.js";
import { createHttp2Transport } from "../../src/client/transport/http2/index.js";
import { createConnectNodeTransport } from "../../src/connect-node/index.js";
import { createGrpcJsTransport } from "../../src/grpc-js/index.js";
import { createBareHttp2Client } from "./bare-http2.js";
import { createEtcdTsClient } from "./etcd-ts.js";
import { createEtcd3Client } from "./etcd3.js";
import { createTransportClient } from "./transport.js";
import type { BenchClient } from "./types.js";

/**
 * Every client the benchmark compares, each connected to `endpoint`. BENCH_BASELINE=<another checkout of
 * etcd-ts> adds that checkout's `Etcd` as `etcd-ts-base`, so that a change is compared with the code before
 * it in the same interleaved rounds (`git worktree add /tmp/base main`, then
 * `BENCH_BASELINE=/tmp/base BENCH_CLIENTS=etcd-ts,etcd-ts-base,etcd3 npm run bench`).
 */
export async function benchClients(endpoint: string): Promise<BenchClient[]> {
  const baseline = process.env.BENCH_BASELINE;
  const base = baseline
    ? [createEtcdTsClient(endpoint, await import(resolve(baseline, "src/index.ts")), "etcd-ts-base")]
    : [];
  return [
    createEtcdTsClient(endpoint),
    // The whole client on the node:http2 transport (`transport: "http2"`): the same API on Node's HTTP/2.
    createEtcdTsClient(endpoint, undefined, "etcd-ts/http2", { transport: "http2" }),
    ...base,
    // The same `Etcd` API over etcd's JSON gateway with fetch alone (issue 23): what a browser or a Worker pays.
    createEtcdTsClient(endpoint, undefined, "gateway", {
      transport: (ep) => createGatewayTransport({ baseUrl: ep.url }),
    }),
    createTransportClient("http2", createHttp2Transport({ baseUrl: endpoint })),
    createTransportClient("h2-net", createH2NetTransport({ baseUrl: endpoint })),
    createTransportClient("grpc-js", createGrpcJsTransport({ baseUrl: endpoint })),
    createTransportClient("connect-node", createConnectNodeTransport({ baseUrl: endpoint })),
    createBareHttp2Client(endpoint),
    createEtcd3Client(endpoint),
  ];
}
