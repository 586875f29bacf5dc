/**
 * mTLS on each transport, run under Node, Bun and Deno by test/runtimes/runtimes.test.ts. Argument: JSON
 * {@link TlsArgs}. Prints one "tls" line: for each (transport, endpoint) pair, the value read back or the
 * error's message.
 */
import { readFileSync } from "node:fs";
import process from "node:process";
import { createConnectNodeTransport } from "../../src/connect-node/index.js";
import { createGrpcJsTransport } from "../../src/grpc-js/index.js";
import { Etcd, type EtcdOptions, type ResolvedEndpoint } from "../../src/index.js";

/** What the test passes. */
export interface TlsArgs {
  /** `https://<host>:<port>` endpoints of one member, e.g. by IP and by name. */
  endpoints: string[];
  caFile: string;
  certFile: string;
  keyFile: string;
  /** The key it writes and reads back (one per runtime: they run at once against one member). */
  key: string;
}

const args = JSON.parse(process.argv[2] ?? "{}") as TlsArgs;
const tls = {
  ca: readFileSync(args.caFile),
  cert: readFileSync(args.certFile),
  key: readFileSync(args.keyFile),
};
const transports: Record<string, EtcdOptions["transport"]> = {
  default: undefined,
  http2: "http2",
  "grpc-js": (e: ResolvedEndpoint) => createGrpcJsTransport({ baseUrl: e.url, tls: e.tls }),
  "connect-node": (e: ResolvedEndpoint) => createConnectNodeTransport({ baseUrl: e.url, tls: e.tls }),
};

const results: Record<string, string> = {};
for (const [name, transport] of Object.entries(transports)) {
  for (const endpoint of args.endpoints) {
    const etcd = new Etcd({
      endpoints: [endpoint],
      tls,
      transport,
      timeoutMs: 5_000,
      retry: { maxAttempts: 1 },
    });
    try {
      await etcd.put(args.key, `${name} ${endpoint}`);
      results[`${name} ${endpoint}`] = (await etcd.get(args.key))?.text() ?? "(missing)";
    } catch (err) {
      results[`${name} ${endpoint}`] = `error: ${err instanceof Error ? err.message : String(err)}`;
    } finally {
      await etcd.close();
    }
  }
}
console.log(JSON.stringify({ type: "tls", results }));
