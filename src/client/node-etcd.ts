import { Etcd as PlatformEtcd } from "./etcd.js";
import { nodePlatform } from "./platform/node.js";
import type { Platform } from "./platform/platform.js";

/**
 * An etcd v3 client: one connection per endpoint, failover with jittered backoff, safe retries,
 * auth tokens, TLS. `close()` (or `await using`) releases every socket and timer. Its default transport
 * is etcd-ts's gRPC over its own HTTP/2 client on `node:net` (h2-net; `transport: "http2"` picks
 * `node:http2` instead; `etcd-ts/web`'s `Etcd` is the same client over etcd's JSON gateway).
 *
 * @example
 * ```ts
 * await using etcd = new Etcd({ endpoints: ["http://127.0.0.1:2379"] });
 * await etcd.put("greeting", "hello");
 * console.log((await etcd.get("greeting"))?.text());
 * ```
 */
export class Etcd extends PlatformEtcd {
  protected static override readonly platform: Platform = nodePlatform;
}
