/**
 * `etcd-ts/connect-node`: a Connect transport over `@connectrpc/connect-node` (an optional peer
 * dependency; only this subpath loads it).
 * @packageDocumentation
 */
export type { EtcdTransportOptions, TransportTlsOptions } from "../client/transport/index.js";
export {
  ConnectNodeTransport,
  type ConnectNodeTransportOptions,
  createConnectNodeTransport,
} from "./transport.js";
