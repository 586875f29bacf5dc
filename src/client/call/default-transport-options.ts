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
}
