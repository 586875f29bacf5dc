import type { Transport } from "@connectrpc/connect";

/** A transport the client can close when it closes. */
export type ClosableTransport = Transport & {
  close(): Promise<void>;
  /**
   * How many connections the transport has opened so far (optional; etcd-ts's transports have it). The
   * client asks a server's version once per connection and asks again when this count changes: a new
   * connection may reach a member restarted with another release. Without it, the client forgets the
   * version only when a call finds the connection refused or lost.
   */
  readonly connectionCount?: number | undefined;
  /**
   * Checks that the connections carrying calls are alive (optional; etcd-ts's default transport has it:
   * an HTTP/2 PING). Resolves false when one did not answer within `timeoutMs`, true otherwise; never
   * rejects, tears nothing down. The Watch stream's liveness uses it; without it, the client checks with
   * a `Maintenance/Status` call (docs/leases-and-watches.md, "Liveness").
   */
  checkConnection?(timeoutMs: number): Promise<boolean>;
  /**
   * False when this transport's Watch progress notices cannot promise that every older event of the stream
   * was delivered (optional; the gateway transport's: its notices come from a read of the store's
   * revision, not from the server's watch stream). The client then never marks a notice
   * `progressComplete`, whatever the server's version. Default: the server's version decides.
   */
  readonly watchProgressComplete?: boolean | undefined;
};
