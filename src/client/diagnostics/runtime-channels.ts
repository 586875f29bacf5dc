import { runtimeBuiltin } from "../core/runtime-builtin.js";
import {
  channelsOf,
  type DiagnosticsChannel,
  type DiagnosticsChannels,
  SILENT_CHANNELS,
} from "./channels.js";

/**
 * @internal The channels of `etcd-ts/web`, which may not import `node:diagnostics_channel` (a browser has
 * no such module): the runtime's own module when it offers one without an import (Node >= 20.16, Bun,
 * Deno), so that the same subscribers (`etcd-ts/otel`) hear a web client there; silent channels
 * elsewhere (browsers, workerd), where nothing could subscribe. Looked up per client, not at import:
 * nothing is kept at module level.
 */
export function runtimeChannels(): DiagnosticsChannels {
  const module = runtimeBuiltin<{ channel?: (name: string) => DiagnosticsChannel }>("diagnostics_channel");
  const channel = module?.channel;
  return typeof channel === "function" ? channelsOf((name) => channel(name)) : SILENT_CHANNELS;
}
