/** Connection settings the default transport honours. */
export interface DefaultTransportOptions {
  /** HTTP/2 PING interval while calls are in flight, ms. */
  keepaliveIntervalMs: number;
  /** PING answer timeout, ms. */
  keepaliveTimeoutMs: number;
  /** Connection establishment timeout (TCP, the TLS handshake for https, the server's HTTP/2 SETTINGS), ms. */
  connectTimeoutMs: number;
  /** Largest request message the transport sends, bytes. Default: the transport's (2 MiB). */
  maxSendMessageBytes?: number | undefined;
  /**
   * Which built-in transport the user named: `"h2-net"` (etcd-ts's own HTTP/2 client on `node:net`) or
   * `"http2"` (`node:http2`); undefined for the platform's default (h2-net on `etcd-ts`). Both take the same options and behave the same. `etcd-ts/web` has neither.
   */
  builtin?: BuiltinTransport | undefined;
}

/** The built-in transports the client option `transport` can name. */
export type BuiltinTransport = "http2" | "h2-net";
