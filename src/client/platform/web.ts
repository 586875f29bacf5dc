import { InvalidArgumentError } from "../core/errors.js";
import { runtimeBuiltin } from "../core/runtime-builtin.js";
import { runtimeChannels } from "../diagnostics/runtime-channels.js";
import { createGatewayTransport } from "../transport/gateway/index.js";
import type { Platform } from "./platform.js";

/**
 * The platform of `etcd-ts/web` (browsers, workerd, Vercel's edge runtime, Deno, Bun, Node): nothing but
 * web-standard APIs. The default transport speaks etcd's JSON gateway over `fetch`; diagnostics go to the
 * runtime's `diagnostics_channel` where it has one (`runtimeChannels`); a signal's listener limit is
 * lifted where the runtime has one (Node's `events.setMaxListeners`, looked up without an import); there
 * is no file system for `snapshotToFile`.
 */
export const webPlatform: Platform = Object.freeze({
  createDefaultTransport(endpoint, options) {
    if (options.builtin !== undefined)
      throw new InvalidArgumentError(
        "transport",
        `names "${options.builtin}", a transport on ${options.builtin === "http2" ? "node:http2" : "node:net"}, which etcd-ts/web does not have: its transport is the gateway`,
      );
    // fetch does TLS with the runtime's own trust store: no CA, client certificate or server name of ours.
    const tls = endpoint.tls;
    if (tls !== undefined && Object.values(tls).some((value) => value !== undefined))
      throw new InvalidArgumentError(
        "tls",
        "is not supported by etcd-ts/web's gateway transport: fetch uses the runtime's own TLS settings",
      );
    return createGatewayTransport({ baseUrl: endpoint.url });
  },
  diagnostics: runtimeChannels,
  unlimitedListeners(signal) {
    // Node warns past ten listeners on an AbortSignal; a browser has no such limit (and no such module).
    runtimeBuiltin<{ setMaxListeners?: (n: number, target: AbortSignal) => void }>(
      "events",
    )?.setMaxListeners?.(0, signal);
  },
  writeSnapshotFile: undefined,
} satisfies Platform);
