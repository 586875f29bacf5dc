import { Etcd as PlatformEtcd } from "./etcd.js";
import type { Platform } from "./platform/platform.js";
import { webPlatform } from "./platform/web.js";

/**
 * An etcd v3 client for browsers and edge runtimes: the API of `etcd-ts`'s `Etcd`, over etcd's JSON
 * gateway with `fetch` (docs/web.md says what differs from gRPC). `close()` (or `await using`) aborts
 * every request and timer.
 *
 * @example
 * ```ts
 * await using etcd = new Etcd({ endpoints: ["http://127.0.0.1:2379"] });
 * await etcd.put("greeting", "hello");
 * console.log((await etcd.get("greeting"))?.text());
 * ```
 */
export class Etcd extends PlatformEtcd {
  protected static override readonly platform: Platform = webPlatform;
}
