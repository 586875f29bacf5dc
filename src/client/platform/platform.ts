import type { DefaultTransportOptions } from "../call/default-transport-options.js";
import type { ResolvedEndpoint } from "../call/resolved-endpoint.js";
import type { DiagnosticsChannels } from "../diagnostics/channels.js";
import type { ClosableTransport } from "../transport/closable-transport.js";

/**
 * What differs between the runtimes a client runs on, and nothing else: one `Etcd` is built over one of
 * these, chosen by the package entry the user imported (`etcd-ts`: `nodePlatform`; `etcd-ts/web`:
 * `webPlatform`). Everything not here (the call pipeline, watches, leases, the process ref, the event
 * emitters of live objects) is the same code on every runtime.
 */
export interface Platform {
  /** Makes an endpoint's transport when the user brings none (`EtcdOptions.transport`). */
  createDefaultTransport(endpoint: ResolvedEndpoint, options: DefaultTransportOptions): ClosableTransport;
  /** The diagnostics channels of a new client (called once per client). */
  diagnostics(): DiagnosticsChannels;
  /**
   * Lets an `AbortSignal` take any number of listeners without a warning: Node's
   * `setMaxListeners(0, signal)`; nothing where the runtime has no such limit.
   */
  unlimitedListeners(signal: AbortSignal): void;
  /**
   * Writes a snapshot into a file (`maintenance.snapshotToFile`); undefined where there is no file
   * system, and the call then fails with `NotSupportedError`.
   */
  readonly writeSnapshotFile:
    | ((path: string, chunks: AsyncIterable<Uint8Array>) => Promise<number>)
    | undefined;
}
