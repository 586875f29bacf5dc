import { randomBytes } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { checkOptionsObject, InvalidArgumentError, shownInput } from "../client/core/index.js";
import { EtcdUnavailableError, resolveEtcdBinary } from "./binary.js";
import { type Certificates, generateCertificates } from "./certificates.js";
import { registerCleanup } from "./cleanup.js";
import { type ClusterTls, EtcdCluster } from "./cluster.js";
import { type EtcdContainer, isDockerAvailable, startEtcdContainer } from "./docker.js";
import { type Failpoints, failpointsVariable } from "./failpoints.js";

/** Where etcd runs: a local binary, a Docker container, or whichever is available. */
export type EtcdRuntime = "auto" | "binary" | "docker";

/** TLS settings of {@link StartEtcdOptions.tls}. */
export interface TlsOptions {
  /** Require client certificates (`--client-cert-auth`, mTLS). Default false. */
  clientCertAuth?: boolean | undefined;
  /** Certificates to use. Default: fresh ones from `generateCertificates()` in the cluster's temp dir. */
  certificates?: Certificates | undefined;
}

/** Options of {@link startEtcd}. */
export interface StartEtcdOptions {
  /** Number of members. Default 1. */
  members?: number | undefined;
  /** etcd binary; default: `version` if given, else `ETCD_BIN`, else `ETCD_VERSION`, else `etcd` on PATH (read from `env`). */
  binary?: string | undefined;
  /**
   * A pinned release line (`"3.4"`, `"3.5"`, `"3.6"`, `"3.7"`; see `ETCD_VERSIONS`) installed by
   * `npm run etcd:install`. Default: `ETCD_VERSION` from `env` when `ETCD_BIN` is unset. Binary runtime only.
   */
  version?: string | undefined;
  /**
   * Run etcd's failpoint build (gofail; `bash scripts/etcd-failpoints.sh 3.6` builds it) with these
   * failpoints set from the start, e.g. `{ beforeSyncWatchers: "sleep(8000)" }` (see `Failpoints`);
   * `{}` runs the build with none set. The build is `binary` if given, else that of `version`, else of
   * `ETCD_VERSION`, else of the default line (`ETCD_BIN` is not used). Each member serves gofail's HTTP
   * endpoint too (`member.setFailpoint()`). Binary runtime only. Default: a plain build.
   */
  failpoints?: Failpoints | undefined;
  /** Extra flags for every member, e.g. `["--auth-token-ttl=2"]`. Default none. */
  args?: string[] | undefined;
  /** How long to wait for the cluster to serve clients, in ms. Default 30000 (120000 for Docker). */
  readyTimeoutMs?: number | undefined;
  /**
   * Serve clients over TLS (https client URLs; peers stay plain); `cluster.tls` then holds the CA and
   * client certificate. Default false. Binary runtime only.
   */
  tls?: boolean | TlsOptions | undefined;
  /**
   * Every member also serves clients on a unix socket (`member.unixClientUrl`, `cluster.unixEndpoints`;
   * `unixs://` with `tls`, its certificate name `localhost`): the file `localhost:<client port>` in the
   * cluster's temp dir, named the one way etcd 3.4 accepts as well. The kit keeps using the TCP client
   * URLs. Default false. Binary runtime only.
   */
  unixSocket?: boolean | undefined;
  /**
   * `"binary"` runs a local etcd; `"docker"` one member in a container (testcontainers); `"auto"` the
   * binary if one is found, else Docker if an engine answers, else {@link EtcdUnavailableError}.
   * Default `"binary"` (so the result is always an {@link EtcdCluster} with members to kill or freeze).
   */
  runtime?: EtcdRuntime | undefined;
  /** Image for the Docker runtime. Default `ETCD_IMAGE`, else `gcr.io/etcd-development/etcd:v3.5.17`. */
  image?: string | undefined;
  /** Environment where `ETCD_BIN`, `PATH` and `ETCD_IMAGE` are read. Default `process.env`. */
  env?: NodeJS.ProcessEnv | undefined;
}

/**
 * Starts a throwaway etcd (one member or a cluster) and waits until it serves clients. With the binary
 * runtime every member is killed and the temp dir removed if the start fails half-way, by `close()`, and
 * when the process exits without `close()` (see docs/testing.md).
 */
export function startEtcd(options?: StartEtcdOptions & { runtime?: "binary" }): Promise<EtcdCluster>;
/** Starts etcd from a binary or in Docker; narrow with `instanceof EtcdCluster` for member control. */
export function startEtcd(
  options: StartEtcdOptions & { runtime: EtcdRuntime },
): Promise<EtcdCluster | EtcdContainer>;
export async function startEtcd(options: StartEtcdOptions = {}): Promise<EtcdCluster | EtcdContainer> {
  checkOptionsObject(options);
  const count = options.members ?? 1;
  if (!Number.isInteger(count) || count < 1)
    throw new InvalidArgumentError("members", `must be an integer >= 1, got ${shownInput(count)}`);
  if (options.args !== undefined && !Array.isArray(options.args))
    throw new InvalidArgumentError("args", `must be an array of etcd flags, got ${shownInput(options.args)}`);
  const env = options.env ?? process.env;
  const runtime = options.runtime ?? "binary";
  if (runtime === "docker") return startInDocker(options, count);
  if (options.failpoints !== undefined) failpointsVariable(options.failpoints);
  const binary = resolveEtcdBinary(options.binary, env, options.version, options.failpoints !== undefined);
  if (binary) return startFromBinary(binary, options, count);
  if (runtime === "auto") {
    if (await isDockerAvailable()) return startInDocker(options, count);
    throw new EtcdUnavailableError(
      "no etcd binary (ETCD_BIN unset, no etcd on PATH) and no Docker engine answered",
    );
  }
  throw new EtcdUnavailableError("no etcd binary found (ETCD_BIN is unset and PATH has no etcd)");
}

function startInDocker(options: StartEtcdOptions, count: number): Promise<EtcdContainer> {
  if (count !== 1)
    throw new InvalidArgumentError(
      "members",
      "the Docker runtime runs a single member; use the binary runtime for clusters",
    );
  if (options.tls)
    throw new InvalidArgumentError("tls", "the Docker runtime does not support tls; use the binary runtime");
  if (options.unixSocket)
    throw new InvalidArgumentError(
      "unixSocket",
      "the Docker runtime does not support unix sockets; use the binary runtime",
    );
  if (options.failpoints)
    throw new InvalidArgumentError(
      "failpoints",
      "the Docker runtime runs a plain build; use the binary runtime for failpoints",
    );
  return startEtcdContainer({
    image: options.image,
    args: options.args,
    readyTimeoutMs: options.readyTimeoutMs,
    env: options.env,
  });
}

async function startFromBinary(
  binary: string,
  options: StartEtcdOptions,
  count: number,
): Promise<EtcdCluster> {
  const root = await mkdtemp(join(tmpdir(), "etcd-ts-"));
  const release = registerCleanup({ paths: [root] });
  let cluster: EtcdCluster | undefined;
  try {
    const tls = options.tls ? await clusterTls(root, options.tls === true ? {} : options.tls) : undefined;
    cluster = new EtcdCluster(
      {
        root,
        binary,
        args: options.args ?? [],
        token: `etcd-ts-${randomBytes(6).toString("hex")}`,
        tls,
        unixSockets: options.unixSocket ?? false,
        failpoints: options.failpoints,
        onClosed: release,
      },
      [],
    );
    for (let i = 0; i < count; i++) await cluster.createMember(`m${i}`);
    const initialCluster = cluster.members.map((m) => `${m.name}=${m.peerUrl}`).join(",");
    for (const m of cluster.members) m.configure(initialCluster, "new");
    const timeoutMs = options.readyTimeoutMs ?? 30_000;
    // allSettled, not all: close() below must not run while a sibling is still starting.
    const started = await Promise.allSettled(cluster.members.map((m) => m.start({ timeoutMs })));
    const failure = started.find((s) => s.status === "rejected");
    if (failure) throw failure.reason;
    return cluster;
  } catch (err) {
    if (cluster) await cluster.close();
    else {
      await rm(root, { recursive: true, force: true });
      release();
    }
    throw err;
  }
}

async function clusterTls(root: string, tls: TlsOptions): Promise<ClusterTls> {
  const certificates = tls.certificates ?? (await generateCertificates(join(root, "tls")));
  return { ...certificates, clientCertAuth: tls.clientCertAuth ?? false };
}
