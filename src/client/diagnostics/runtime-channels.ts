import { channelsOf, type DiagnosticsChannels, SILENT_CHANNELS } from "./channels.js";

/** What `process.getBuiltinModule("diagnostics_channel")` gives where it exists. */
interface DiagnosticsChannelModule {
  channel(name: string): DiagnosticsChannels[keyof DiagnosticsChannels];
}

/**
 * @internal The channels of `etcd-ts/web`, which may not import `node:diagnostics_channel` (a browser has
 * no such module): the runtime's own module when it offers one without an import,
 * `process.getBuiltinModule` (Node >= 20.16, Bun, Deno), so that the same subscribers (`etcd-ts/otel`)
 * hear a web client there; silent channels elsewhere (browsers, workerd), where nothing could subscribe.
 * Looked up per client, not at import: nothing is kept at module level.
 */
export function runtimeChannels(): DiagnosticsChannels {
  const process = (globalThis as { process?: { getBuiltinModule?: (id: string) => unknown } }).process;
  const module =
    typeof process?.getBuiltinModule === "function"
      ? (process.getBuiltinModule("diagnostics_channel") as DiagnosticsChannelModule | undefined)
      : undefined;
  return typeof module?.channel === "function" ? channelsOf((name) => module.channel(name)) : SILENT_CHANNELS;
}
