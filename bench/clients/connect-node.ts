import type { Transport } from "@connectrpc/connect";
import { createGrpcTransport, Http2SessionManager } from "@connectrpc/connect-node";

// TEMP until the connect-node transport of etcd-ts lands.
export function createConnectTransport(endpoint: string): Transport & { close(): Promise<void> } {
  const sessionManager = new Http2SessionManager(endpoint);
  const t = createGrpcTransport({ baseUrl: endpoint, sessionManager });
  return { unary: t.unary.bind(t), stream: t.stream.bind(t), close: async () => sessionManager.abort() };
}
