import type { OutgoingHttpHeaders, SecureClientSessionOptions } from "node:http2";
import { isIP, connect as netConnect, type Socket } from "node:net";
import { connect as tlsConnect } from "node:tls";
import type { SessionConnector } from "../http2/connection.js";
import type { GrpcSession } from "../http2/grpc-session.js";
import { DEFAULT_SESSION_LIMITS, H2Session } from "./session.js";

/**
 * A `SessionConnector` whose sessions are h2-net's `H2Session`s on `node:net` (`http://`, `unix://`) or
 * `node:tls` with ALPN `h2` (`https://`, `unixs://`), taking the options `Http2Connection` gives
 * `node:http2`'s `connect` (TLS material, `createConnection` for unix sockets). One per transport: its
 * sessions share the cache of encoded request header blocks. `settingsTimeoutMs` bounds the wait for the
 * server's acknowledgement of our SETTINGS (the transport's connect timeout).
 */
export function h2NetConnector(
  settingsTimeoutMs: number = DEFAULT_SESSION_LIMITS.settingsTimeoutMs,
): SessionConnector {
  const blockCache = new WeakMap<OutgoingHttpHeaders, Uint8Array>();
  return (authority: string, options: SecureClientSessionOptions): GrpcSession => {
    const url = new URL(authority);
    const secure = url.protocol === "https:";
    const socket =
      options.createConnection !== undefined
        ? (options.createConnection(url, options) as Socket)
        : openSocket(url, secure, options);
    return new H2Session(socket, {
      ...DEFAULT_SESSION_LIMITS,
      settingsTimeoutMs,
      scheme: secure ? "https" : "http",
      authority: url.host,
      blockCache,
    });
  };
}

/** TCP, or TLS offering `h2` by ALPN (SNI with the host name unless it is an IP address, as node:http2 does). */
function openSocket(url: URL, secure: boolean, options: SecureClientSessionOptions): Socket {
  const host = url.hostname.startsWith("[") ? url.hostname.slice(1, -1) : url.hostname;
  const port = Number(url.port || (secure ? 443 : 80));
  if (!secure) return netConnect({ host, port });
  const servername = options.servername ?? (isIP(host) === 0 ? host : undefined);
  return tlsConnect({
    ...options,
    host,
    port,
    ALPNProtocols: ["h2"],
    ...(servername !== undefined ? { servername } : {}),
  });
}
