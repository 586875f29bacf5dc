/**
 * `etcd-ts/testing`: throwaway real etcd members and clusters for protocol-level tests, TLS material,
 * a TCP fault proxy and etcd's HTTP/JSON gateway, independent of the etcd-ts client.
 * @packageDocumentation
 */
export { EtcdUnavailableError, findEtcdBinary, findEtcdVersion, findFailpointBuild } from "./binary.js";
export {
  CertificateGenerationError,
  type Certificates,
  type GenerateCertificatesOptions,
  generateCertificates,
} from "./certificates.js";
export {
  type AddMemberOptions,
  type ClusterSetup,
  type ClusterTls,
  EtcdCluster,
  type LeaderOptions,
  type MembershipOptions,
} from "./cluster.js";
export {
  DEFAULT_ETCD_IMAGE,
  EtcdContainer,
  isDockerAvailable,
  type StartEtcdContainerOptions,
  startEtcdContainer,
} from "./docker.js";
export { FailpointError, type Failpoints } from "./failpoints.js";
export { type BlackholeDirection, FaultProxy, type FaultProxyTarget } from "./fault-proxy.js";
export {
  EtcdGatewayError,
  type GatewayErrorCode,
  type GatewayRefusal,
  type GatewayRequestOptions,
  type GatewayTls,
  gatewayRequest,
  parseGatewayError,
} from "./gateway.js";
export {
  type ClusterMemberInfo,
  fetchMemberList,
  fetchMemberStatus,
  initialClusterAfterAdd,
  type MemberStatus,
  requestMemberAdd,
  requestMemberPromote,
  requestMemberRemove,
} from "./gateway-calls.js";
export type { GatewayCredentials } from "./gateway-login.js";
export { EtcdMember, type MemberSpec, type MemberTls } from "./member.js";
export { freePort } from "./ports.js";
export { type EtcdRuntime, type StartEtcdOptions, startEtcd, type TlsOptions } from "./start-etcd.js";
export {
  DEFAULT_ETCD_VERSION,
  ETCD_VERSIONS,
  type EtcdVersionLine,
  etcdCacheDir,
  installedEtcdBinary,
  installedFailpointBinary,
  isEtcdVersionLine,
} from "./versions.js";
