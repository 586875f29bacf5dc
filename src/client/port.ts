import type { CallOptions } from "./call-options.js";
import { InvalidArgumentError } from "./core/errors.js";
import { shownInput } from "./core/validation.js";
import type { DiagnosticsChannels } from "./diagnostics/channels.js";
import type { Bytes } from "./kv/bytes.js";
import type { KeyValue } from "./kv/key-value.js";
import type {
  DeleteOptions,
  DeleteResult,
  IterateOptions,
  KeyRange,
  RangeOptions,
  RangeResult,
} from "./kv/types.js";
import { LeaseLostError } from "./lease/errors.js";
import type { Lease } from "./lease/lease.js";
import type { Txn } from "./txn/txn.js";
import type { WatchOptions } from "./watch/types.js";
import type { Watcher } from "./watch/watcher.js";

/** The lease calls the recipes and registrations make (a client's `lease`, {@link Leases}). */
export interface LeasePort {
  /** Grants a lease of `ttlSeconds`, kept alive until closed or lost. */
  grant(ttlSeconds: number, options?: CallOptions): Promise<Lease>;
  /** Keeps alive a lease that already exists. */
  keepAlive(id: number | bigint, options?: CallOptions): Promise<Lease>;
  /** Revokes lease `id` (its keys are deleted). */
  revoke(id: number | bigint, options?: CallOptions): Promise<void>;
}

/**
 * What the cache, the concurrency recipes and discovery use of a client, and nothing more (as Go's
 * recipes use a client's KV, Watcher and Lease only): reads, deletes, txns, watches, leases, and the
 * client's lifetime. An `Etcd` is one, and so is a namespace view of it (`etcd.namespace(prefix)`),
 * whose keys it prefixes.
 */
export interface EtcdPort {
  /** Reads a key or a range (`Etcd.range`). */
  range(range: Bytes | KeyRange, options?: RangeOptions & CallOptions): Promise<RangeResult>;
  /** Deletes a key or a range (`Etcd.delete`). */
  delete(range: Bytes | KeyRange, options?: DeleteOptions & CallOptions): Promise<DeleteResult>;
  /** Starts a transaction (`Etcd.txn`). */
  txn(): Txn;
  /** Watches a key or a range on the client's shared watch stream (`Etcd.watch`). */
  watch(range: Bytes | KeyRange, options?: WatchOptions): Watcher;
  /** Asks for a progress notice on the shared watch stream (`Etcd.requestWatchProgress`). */
  requestWatchProgress(): void;
  /** Grants, keeps alive and revokes leases (`Etcd.lease`). */
  readonly lease: LeasePort;
  /**
   * @internal Reads a range in batches at one revision and returns that revision (`Etcd.iterate` in
   * batches): how a cache loads its range.
   */
  _scan(range: Bytes | KeyRange, options?: IterateOptions): AsyncGenerator<KeyValue[], bigint, undefined>;
  /**
   * @internal Ties something long-lived to the client's lifetime: holds the process until the returned
   * release is called, calls `onClientClose` when the client closes first, and has `close()` wait for
   * `beforeClientClose` (last calls that clean up on the server). Throws `ClientClosedError` on a closed
   * client.
   */
  _attach(onClientClose: () => void, beforeClientClose?: () => Promise<void>): () => void;
  /**
   * @internal The channels the client publishes diagnostics on (its platform's), which registrations
   * publish on too. Optional: a port without it (a test's fake) publishes nothing.
   */
  _diagnostics?(): DiagnosticsChannels;
}

/** The members a value needs to be taken as an {@link EtcdPort} (checked before anything is sent). */
const PORT_METHODS = ["range", "delete", "txn", "watch", "requestWatchProgress", "_scan", "_attach"] as const;

/**
 * Checks that `value` is a client (an `Etcd` or a namespace view of one), else `InvalidArgumentError`
 * naming `field`; returns it.
 */
export function checkPort<T extends EtcdPort>(value: T, field: string): T {
  const port = value as unknown as Record<string, unknown> | null;
  const ok =
    port !== null &&
    typeof port === "object" &&
    PORT_METHODS.every((name) => typeof port[name] === "function") &&
    typeof port.lease === "object" &&
    port.lease !== null;
  if (!ok)
    throw new InvalidArgumentError(field, `must be an Etcd client (new Etcd(...)), got ${shownInput(value)}`);
  return value;
}

/**
 * Calls `listener` once, synchronously, when `lease` is no longer kept alive (at once if it already is
 * not): with its {@link LeaseLostError} when it was lost, `undefined` when this process stopped it. Read
 * from the lease's public `signal`, whose reason is the loss error or a `ClosedError`.
 */
export function onLeaseEnd(lease: Lease, listener: (error: LeaseLostError | undefined) => void): void {
  const signal = lease.signal;
  const call = () => listener(signal.reason instanceof LeaseLostError ? signal.reason : undefined);
  if (signal.aborted) call();
  else signal.addEventListener("abort", call, { once: true });
}
