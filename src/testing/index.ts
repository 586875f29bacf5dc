/**
 * `etcd-ts/testing`: throwaway real etcd members and clusters for protocol-level tests.
 * @packageDocumentation
 */
export { EtcdUnavailableError, findEtcdBinary } from "./binary.js";
export { EtcdCluster, type StartEtcdOptions, startEtcd } from "./cluster.js";
export { EtcdMember, type MemberSpec } from "./member.js";
export { freePort } from "./ports.js";
