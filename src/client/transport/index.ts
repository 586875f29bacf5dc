/**
 * The transport's building blocks as the package's other HTTP/2 stacks reach them (the grpc-js and
 * connect-node transports, discovery's balanced transport): endpoint addresses, unix sockets, request
 * headers and the transport-option defaults (the not-sent mark and the failure rule are core's).
 * Internal: no `package.json` export names it; the option types users write reach them through
 * `etcd-ts/grpc-js` and `etcd-ts/connect-node`.
 * @packageDocumentation
 */
export * from "./endpoint-address.js";
export type { HeadersInit } from "./headers-init.js";
export * from "./transport-options.js";
export * from "./unix-socket.js";
