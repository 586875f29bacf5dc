import { connect as netConnect } from "node:net";
import type { Duplex } from "node:stream";
import { type ConnectionOptions, connect as tlsConnect } from "node:tls";
import type { UnixAddress } from "./endpoint-address.js";

/**
 * The `:authority` of HTTP/2 requests sent over a unix socket, as grpc-go sends it (`localhost`); etcd
 * does not look at it.
 */
export const UNIX_AUTHORITY = "localhost";

/**
 * Opens the socket of a `unix://` endpoint, or for `unixs://` a TLS connection over it that offers
 * HTTP/2 by ALPN (as a TCP `https://` connection does), for `http2.connect`'s `createConnection`. The
 * server certificate is checked against `tls.servername`, else the address's default name (the socket
 * file's name, see {@link UnixAddress.servername}).
 */
export function connectUnixSocket(address: UnixAddress, tls: ConnectionOptions = {}): Duplex {
  if (!address.secure) return netConnect({ path: address.socketPath });
  return tlsConnect({
    ...tls,
    path: address.socketPath,
    servername: tls.servername ?? address.servername,
    ALPNProtocols: ["h2"],
  });
}
