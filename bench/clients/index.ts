import { createHttp2Transport } from "../../src/client/transport/http2/index.js";
import { createConnectNodeTransport } from "../../src/connect-node/index.js";
import { createGrpcJsTransport } from "../../src/grpc-js/index.js";
import { createBareHttp2Client } from "./bare-http2.js";
import { createEtcdTsClient } from "./etcd-ts.js";
import { createEtcd3Client } from "./etcd3.js";
import { createTransportClient } from "./transport.js";
import type { BenchClient } from "./types.js";

/** Every client the benchmark compares, each connected to `endpoint`. */
export async function benchClients(endpoint: string): Promise<BenchClient[]> {
  return [
    createEtcdTsClient(endpoint),
    createTransportClient("http2", createHttp2Transport({ baseUrl: endpoint })),
    createTransportClient("grpc-js", createGrpcJsTransport({ baseUrl: endpoint })),
    createTransportClient("connect-node", createConnectNodeTransport({ baseUrl: endpoint })),
    createBareHttp2Client(endpoint),
    createEtcd3Client(endpoint),
  ];
}
