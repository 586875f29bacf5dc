import { type ChannelOptions, Client, credentials } from "@grpc/grpc-js";
import {
  DEFAULT_KEEPALIVE_TIMEOUT_MS,
  DEFAULT_MAX_RECEIVE_MESSAGE_BYTES,
  DEFAULT_MAX_SEND_MESSAGE_BYTES,
  type EtcdTransportOptions,
  transportAddress,
} from "../client/transport/index.js";

/**
 * Reconnect backoff we start from: grpc-js defaults to 1 s growing to 120 s, which leaves a restarted
 * etcd member unreachable for minutes; etcd members come back within seconds.
 */
const DEFAULT_CHANNEL_OPTIONS: ChannelOptions = {
  "grpc.initial_reconnect_backoff_ms": 100,
  "grpc.max_reconnect_backoff_ms": 2_000,
};

/** Options of the grpc-js transport: the common ones plus grpc-js channel arguments. */
export interface GrpcJsTransportOptions extends EtcdTransportOptions {
  /**
   * Raw grpc-js channel arguments, applied last (they win over the options above). Default: reconnect
   * backoff `grpc.initial_reconnect_backoff_ms` 100 and `grpc.max_reconnect_backoff_ms` 2000.
   */
  channelOptions?: ChannelOptions | undefined;
}

/** Builds the one grpc-js client (and its channel) a transport sends every call through. */
export function createChannelClient(options: GrpcJsTransportOptions): Client {
  const address = transportAddress(options.baseUrl, options.tls);
  const secure = address.secure;
  const target = address.kind === "unix" ? `unix:${address.socketPath}` : tcpTarget(address.parsed, secure);
  const tls = options.tls ?? {};
  const creds = secure
    ? credentials.createSsl(pem(tls.ca), pem(tls.key), pem(tls.cert))
    : credentials.createInsecure();
  const channelOptions: ChannelOptions = {
    ...DEFAULT_CHANNEL_OPTIONS,
    "grpc.max_send_message_length": options.maxSendMessageBytes ?? DEFAULT_MAX_SEND_MESSAGE_BYTES,
    "grpc.max_receive_message_length": options.maxReceiveMessageBytes ?? DEFAULT_MAX_RECEIVE_MESSAGE_BYTES,
  };
  if (options.keepaliveIntervalMs !== undefined) {
    channelOptions["grpc.keepalive_time_ms"] = options.keepaliveIntervalMs;
    channelOptions["grpc.keepalive_timeout_ms"] = options.keepaliveTimeoutMs ?? DEFAULT_KEEPALIVE_TIMEOUT_MS;
    channelOptions["grpc.keepalive_permit_without_calls"] = options.keepaliveWithoutCalls ? 1 : 0;
  }
  // Over a unix socket the certificate is checked against the socket file's name unless one is given.
  const servername = tls.servername ?? (address.kind === "unix" && secure ? address.servername : undefined);
  if (servername !== undefined) {
    channelOptions["grpc.ssl_target_name_override"] = servername;
    channelOptions["grpc.default_authority"] = servername;
  }
  return new Client(target, creds, { ...channelOptions, ...options.channelOptions });
}

/** grpc-js's target for a TCP URL: `host:port`. */
function tcpTarget(url: URL, secure: boolean): string {
  return `${url.hostname}:${url.port || (secure ? "443" : "80")}`;
}

function pem(value: string | Uint8Array | undefined): Buffer | null {
  if (value === undefined) return null;
  return typeof value === "string" ? Buffer.from(value, "utf8") : Buffer.from(value);
}
