import type { Transport } from "@connectrpc/connect";

/** A transport bound to one etcd endpoint. */
export interface EndpointTransport {
  /** The endpoint URL, e.g. `http://127.0.0.1:2379`. */
  readonly endpoint: string;
  /** The transport that carries calls to it. */
  readonly transport: Transport;
}

/**
 * What long-lived parts (watch streams, the lease keepalive stream) need from the connection layer:
 * a transport to open the next stream on, a way to report that an endpoint failed, and the metadata
 * every call carries (auth token, `hasleader`).
 */
export interface TransportPool {
  /** The endpoint transport the next call should use (a healthy one first). */
  pick(): EndpointTransport;
  /** Reports that a call on `endpoint` failed with UNAVAILABLE, so later picks move on. */
  markFailed(endpoint: string): void;
  /** Metadata to send with a call (auth `token`, `hasleader`); refreshes an expired token. */
  metadata(options?: { requireLeader?: boolean }): Promise<Headers>;
}
