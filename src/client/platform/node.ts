import { setMaxListeners } from "node:events";
import { createDefaultTransport } from "../call/default-transport.js";
import { NODE_CHANNELS } from "../diagnostics/node-channels.js";
import { writeSnapshotFile } from "../maintenance/snapshot-file.js";
import type { Platform } from "./platform.js";

/**
 * The platform of `etcd-ts` (Node, and Bun and Deno through their Node APIs): the gRPC transport on
 * `node:net` (h2-net, or `node:http2`), `node:diagnostics_channel`, Node's listener limits, snapshots written with `node:fs`.
 */
export const nodePlatform: Platform = Object.freeze({
  createDefaultTransport,
  diagnostics: () => NODE_CHANNELS,
  unlimitedListeners: (signal: AbortSignal) => setMaxListeners(0, signal),
  writeSnapshotFile,
});
