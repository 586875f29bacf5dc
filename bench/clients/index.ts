import { createBareHttp2Client } from "./bare-http2.js";
import { createConnectTransport } from "./connect-node.js";
import { createEtcd3Client } from "./etcd3.js";
import { createTransportClient } from "./transport.js";
import type { BenchClient } from "./types.js";

/** Every client the benchmark compares, each connected to `endpoint`. */
export async function benchClients(endpoint: string): Promise<BenchClient[]> {
  return [
    createTransportClient("connect-node", createConnectTransport(endpoint)),
    createBareHttp2Client(endpoint),
    createEtcd3Client(endpoint),
  ];
}
