/** TLS material for an `https://` or `unixs://` endpoint; PEM text or bytes. */
export interface TransportTlsOptions {
  /** CA certificate(s) that sign the server certificate. Default: Node's bundled root CAs. */
  ca?: string | Uint8Array | undefined;
  /** Client certificate chain for mutual TLS (`--client-cert-auth`). Default: none. */
  cert?: string | Uint8Array | undefined;
  /** Private key of `cert`. Default: none. */
  key?: string | Uint8Array | undefined;
  /**
   * Name the server certificate must carry, when it differs from the URL's host. Default: the URL's host;
   * for `unixs://`, the socket file's name without a `:port` suffix (etcd's Go client's rule).
   */
  servername?: string | undefined;
}

/**
 * The transport-option vocabulary of etcd-ts: every transport takes these names (grpc-js and
 * connect-node exactly these; the default `createHttp2Transport` these and its own, with its own
 * defaults, documented on `Http2TransportOptions`). The defaults below are grpc-js' and connect-node's.
 * `baseUrl` and `tls` are checked by one rule for all of them (`transportAddress`).
 */
export interface EtcdTransportOptions {
  /**
   * Endpoint URL: `http://host:port` or `https://host:port` (with `tls`), or a unix socket as
   * `unix:///path/to/socket` (`unixs://` for TLS over it; the path is everything after `://`).
   */
  baseUrl: string;
  /** TLS settings for `https://` and `unixs://` URLs. Default: system trust, no client certificate. */
  tls?: TransportTlsOptions | undefined;
  /**
   * Interval of HTTP/2 PING frames that detect a dead or frozen server, in ms. Default: no pings (the Go
   * client's default). etcd rejects pings more frequent than its `--grpc-keepalive-min-time` (5 s by default).
   */
  keepaliveIntervalMs?: number | undefined;
  /** How long a PING may stay unanswered before the connection counts as dead, in ms. Default 20000. */
  keepaliveTimeoutMs?: number | undefined;
  /** Also ping while no call is open. Default false. */
  keepaliveWithoutCalls?: boolean | undefined;
  /**
   * Largest request message sent, in bytes; larger ones fail locally with ResourceExhausted. Default 2 MiB
   * (the Go client's default; etcd's own limit is `--max-request-bytes`, 1.5 MiB, plus gRPC overhead).
   */
  maxSendMessageBytes?: number | undefined;
  /** Largest response message accepted, in bytes. Default 2^31 - 1 (the Go client's default). */
  maxReceiveMessageBytes?: number | undefined;
}

/** Default of {@link EtcdTransportOptions.maxSendMessageBytes}. */
export const DEFAULT_MAX_SEND_MESSAGE_BYTES = 2 * 1024 * 1024;
/** Default of {@link EtcdTransportOptions.maxReceiveMessageBytes}. */
export const DEFAULT_MAX_RECEIVE_MESSAGE_BYTES = 2 ** 31 - 1;
/** Default of {@link EtcdTransportOptions.keepaliveTimeoutMs}. */
export const DEFAULT_KEEPALIVE_TIMEOUT_MS = 20_000;
