import { type EndpointAddress, transportAddress } from "../endpoint-address.js";
import type { EtcdTransportOptions } from "../transport-options.js";
import { UNIX_AUTHORITY } from "../unix-socket.js";
import { Http2TransportOptionsError } from "./errors.js";

/** PEM material: text, bytes (a Buffer is a Uint8Array), or a list of either. */
export type PemInput = string | Uint8Array | Array<string | Uint8Array>;

/** TLS settings for `https://` endpoints; omitted fields use Node's defaults (system CAs, verification on). */
export interface Http2TlsOptions {
  /** CA certificate(s) to trust, PEM. Default: the system store. */
  ca?: PemInput | undefined;
  /** Client certificate chain for mTLS, PEM. Default: none. */
  cert?: PemInput | undefined;
  /** Private key of `cert`, PEM. Default: none. */
  key?: PemInput | undefined;
  /** Name to verify the server certificate against (SNI). Default: the URL's host when it is a name. */
  servername?: string | undefined;
  /** Verify the server certificate. Default true; false only for throwaway test setups. */
  rejectUnauthorized?: boolean | undefined;
}

/**
 * Options of `createHttp2Transport`: the common transport options ({@link EtcdTransportOptions}, the
 * same names for grpc-js and connect-node; the defaults below are this transport's) and its own.
 */
export interface Http2TransportOptions extends Omit<EtcdTransportOptions, "tls"> {
  /**
   * The endpoint: `http://host:port` or `https://host:port` (no path), or a unix socket as
   * `unix:///path/to/socket` (`unixs://` for TLS over it). Required.
   */
  baseUrl: string;
  /**
   * TLS and mTLS settings; only allowed with an `https://` or `unixs://` baseUrl. Default: Node's TLS
   * defaults (over a unix socket the certificate is checked against the socket file's name without a
   * `:port` suffix, as etcd's Go client does, unless `servername` names another).
   */
  tls?: Http2TlsOptions | undefined;
  /**
   * How often to send an HTTP/2 PING, in ms; 0 turns keepalive off. Default 30000. etcd rejects pings more
   * frequent than its `--grpc-keepalive-min-time` (default 5 s) with GOAWAY "too_many_pings".
   */
  keepaliveIntervalMs?: number | undefined;
  /** How long to wait for a PING ack before the connection counts as dead and is destroyed, in ms. Default 10000. */
  keepaliveTimeoutMs?: number | undefined;
  /**
   * Also ping while no call is in flight. Default false: etcd (like any grpc-go server without
   * PermitWithoutStream) answers idle pings more frequent than every 2 h with GOAWAY "too_many_pings".
   */
  keepaliveWithoutCalls?: boolean | undefined;
  /**
   * @deprecated The old name of {@link keepaliveWithoutCalls} (the name every other etcd-ts transport
   * uses); still honoured. Giving both with different values is an `Http2TransportOptionsError`.
   */
  keepaliveWhileIdle?: boolean | undefined;
  /**
   * Client-side cap on concurrent calls (HTTP/2 streams); excess calls queue until a stream ends. The
   * server's SETTINGS_MAX_CONCURRENT_STREAMS applies as well. Default: no client cap.
   */
  maxConcurrentStreams?: number | undefined;
  /**
   * Largest response message accepted, in bytes; larger ones fail with ResourceExhausted. Default 64 MiB,
   * enough for big ranges; raise it for ranges larger than that.
   */
  maxReceiveMessageBytes?: number | undefined;
  /**
   * Largest request message sent, in bytes; larger ones fail locally with ResourceExhausted (and the
   * not-sent mark). Default 2 MiB, what etcd accepts by default (`--max-request-bytes` 1.5 MiB plus
   * gRPC overhead); raise it with that flag.
   */
  maxSendMessageBytes?: number | undefined;
  /**
   * How long a new connection may take, in ms: TCP, TLS for https, and the HTTP/2 handshake up to the
   * server's first SETTINGS frame. Calls wait for all of it before sending, so one that fails here
   * (Unavailable) is marked not-sent. Default 5000.
   */
  connectTimeoutMs?: number | undefined;
  /** Deadline for calls that pass no `timeoutMs` of their own, in ms. Default: none. */
  defaultTimeoutMs?: number | undefined;
  /** The `user-agent` request header. Default `"etcd-ts"`. */
  userAgent?: string | undefined;
}

/** Options with every default filled in and the URL parsed. */
export interface ResolvedHttp2Options {
  /** The endpoint as messages name it: `http(s)://host:port`, or the `unix(s)://` URL. */
  origin: string;
  /** What Node's http2.connect gets: the origin, or `http(s)://localhost` over a unix socket. */
  authority: string;
  /** Where to connect. */
  address: EndpointAddress;
  secure: boolean;
  tls: Http2TlsOptions | undefined;
  keepaliveIntervalMs: number;
  keepaliveTimeoutMs: number;
  keepaliveWithoutCalls: boolean;
  maxConcurrentStreams: number;
  maxReceiveMessageBytes: number;
  maxSendMessageBytes: number;
  connectTimeoutMs: number;
  defaultTimeoutMs: number | undefined;
  userAgent: string;
}

/**
 * Checks the options and fills in the defaults.
 * @throws Http2TransportOptionsError naming the bad option.
 */
export function resolveHttp2Options(options: Http2TransportOptions): ResolvedHttp2Options {
  if (typeof options !== "object" || options === null) fail("options", "must be an object");
  const address = transportAddress(options.baseUrl, options.tls, fail);
  const secure = address.secure;
  const keepaliveWithoutCalls = options.keepaliveWithoutCalls ?? options.keepaliveWhileIdle ?? false;
  if (
    options.keepaliveWithoutCalls !== undefined &&
    options.keepaliveWhileIdle !== undefined &&
    options.keepaliveWithoutCalls !== options.keepaliveWhileIdle
  )
    fail("keepaliveWhileIdle", "is the old name of keepaliveWithoutCalls; give one of them");
  return {
    origin: address.url,
    authority: address.kind === "unix" ? `${secure ? "https" : "http"}://${UNIX_AUTHORITY}` : address.url,
    address,
    secure,
    tls: options.tls,
    keepaliveIntervalMs: integer(options, "keepaliveIntervalMs", 30_000, 0),
    keepaliveTimeoutMs: integer(options, "keepaliveTimeoutMs", 10_000, 1),
    keepaliveWithoutCalls,
    maxConcurrentStreams: integer(options, "maxConcurrentStreams", Number.POSITIVE_INFINITY, 1),
    maxReceiveMessageBytes: integer(options, "maxReceiveMessageBytes", 64 * 1024 * 1024, 0),
    maxSendMessageBytes: integer(options, "maxSendMessageBytes", 2 * 1024 * 1024, 0),
    connectTimeoutMs: integer(options, "connectTimeoutMs", 5_000, 1),
    defaultTimeoutMs:
      options.defaultTimeoutMs === undefined ? undefined : integer(options, "defaultTimeoutMs", 0, 0),
    userAgent: options.userAgent ?? "etcd-ts",
  };
}

type NumericOption =
  | "keepaliveIntervalMs"
  | "keepaliveTimeoutMs"
  | "maxConcurrentStreams"
  | "maxReceiveMessageBytes"
  | "maxSendMessageBytes"
  | "connectTimeoutMs"
  | "defaultTimeoutMs";

function integer(options: Http2TransportOptions, name: NumericOption, fallback: number, min: number): number {
  const value = options[name];
  if (value === undefined) return fallback;
  if (typeof value !== "number" || !Number.isSafeInteger(value) || value < min) {
    fail(name, `must be an integer >= ${min}, got ${String(value)}`);
  }
  return value;
}

function fail(field: string, message: string): never {
  throw new Http2TransportOptionsError(field, message);
}
