/**
 * The client layer's public face: everything `import ... from "etcd-ts"` offers.
 * @packageDocumentation
 */

export * as authpb from "../gen/authpb/auth_pb.js";
export * as etcdserverpb from "../gen/etcdserverpb/rpc_pb.js";
export * as mvccpb from "../gen/mvccpb/kv_pb.js";
