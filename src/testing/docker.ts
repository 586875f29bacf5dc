import { sleep } from "../client/core/index.js";
import { EtcdUnavailableError } from "./binary.js";
import { fetchMemberStatus, type MemberStatus } from "./gateway-calls.js";

/** Image used when none is given: etcd's own release image (quay.io/coreos/etcd:v3.5.17 is the same build). */
export const DEFAULT_ETCD_IMAGE = "gcr.io/etcd-development/etcd:v3.5.17";

/** etcd's client port inside the container. */
const CLIENT_PORT = 2379;
/** Same readiness line the binary path waits for. */
const READY_LOG = /serving client traffic|ready to serve client requests/;

/** Options of {@link startEtcdContainer}. */
export interface StartEtcdContainerOptions {
  /** Image to run. Default `ETCD_IMAGE` from the environment, else {@link DEFAULT_ETCD_IMAGE}. */
  image?: string | undefined;
  /** Extra etcd flags, appended last (so they win). Default none. */
  args?: string[] | undefined;
  /** How long to wait for the image pull and for etcd to serve clients, in ms. Default 120000. */
  readyTimeoutMs?: number | undefined;
  /** Where `ETCD_IMAGE` is read. Default `process.env`. */
  env?: NodeJS.ProcessEnv | undefined;
}

/** The subset of testcontainers' StartedTestContainer the kit uses; keeps its types out of ours. */
interface StartedContainer {
  getHost(): string;
  getMappedPort(port: number): number;
  getId(): string;
  stop(options?: { timeout?: number; remove?: boolean }): Promise<unknown>;
}

/**
 * A single etcd member in a Docker container, shaped like a one-member {@link EtcdCluster} for what
 * tests need: `endpoint`, `endpoints`, `close()`. etcd inside advertises its in-container URL, so
 * clients should not sync endpoints from the member list.
 */
export class EtcdContainer implements AsyncDisposable {
  /** Client URL on the Docker host's mapped port, e.g. `http://localhost:32768`. */
  readonly endpoint: string;
  /** The image that runs. */
  readonly image: string;
  readonly #container: StartedContainer;
  #closed = false;

  /** @internal Wraps a started container; use {@link startEtcdContainer} rather than this constructor. */
  constructor(container: StartedContainer, image: string) {
    this.#container = container;
    this.image = image;
    this.endpoint = `http://${container.getHost()}:${container.getMappedPort(CLIENT_PORT)}`;
  }

  /** `[endpoint]`, for code written against a cluster. */
  get endpoints(): string[] {
    return [this.endpoint];
  }

  /** Docker container ID. */
  get containerId(): string {
    return this.#container.getId();
  }

  /** Maintenance/Status through the HTTP gateway. */
  status(
    options: { timeoutMs?: number | undefined; signal?: AbortSignal | undefined } = {},
  ): Promise<MemberStatus> {
    return fetchMemberStatus(this.endpoint, options);
  }

  /** Stops and removes the container; safe to call twice. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.#container.stop({ timeout: 0, remove: true });
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }
}

type Testcontainers = typeof import("testcontainers");

/** Loads the optional peer `testcontainers`, or explains how to get it. */
async function loadTestcontainers(): Promise<Testcontainers> {
  try {
    return await import("testcontainers");
  } catch (err) {
    throw new EtcdUnavailableError(
      "the Docker path needs the optional peer dependency `testcontainers` (npm install -D testcontainers)",
      { cause: err },
    );
  }
}

/**
 * Runs one etcd member in Docker through `testcontainers` (an optional peer, imported only here) and
 * waits until it serves clients. Testcontainers' reaper (Ryuk) removes the container if this process
 * dies before `close()`.
 */
export async function startEtcdContainer(options: StartEtcdContainerOptions = {}): Promise<EtcdContainer> {
  const env = options.env ?? process.env;
  const image = options.image ?? env.ETCD_IMAGE ?? DEFAULT_ETCD_IMAGE;
  const { GenericContainer, Wait } = await loadTestcontainers();
  const command = [
    "/usr/local/bin/etcd",
    "--name=m0",
    "--data-dir=/etcd-data",
    `--listen-client-urls=http://0.0.0.0:${CLIENT_PORT}`,
    `--advertise-client-urls=http://127.0.0.1:${CLIENT_PORT}`,
    "--listen-peer-urls=http://0.0.0.0:2380",
    "--initial-advertise-peer-urls=http://127.0.0.1:2380",
    "--initial-cluster=m0=http://127.0.0.1:2380",
    "--logger=zap",
    "--log-outputs=stderr",
    ...(options.args ?? []),
  ];
  let started: StartedContainer;
  try {
    started = await new GenericContainer(image)
      .withCommand(command)
      .withExposedPorts(CLIENT_PORT)
      .withWaitStrategy(Wait.forLogMessage(READY_LOG))
      .withStartupTimeout(options.readyTimeoutMs ?? 120_000)
      .start();
  } catch (err) {
    // Without an engine testcontainers says "Could not find a working container runtime strategy";
    // say instead what the user can do. Other failures (pull, startup timeout) pass through.
    if (!(await isDockerAvailable())) {
      throw new EtcdUnavailableError("the Docker runtime was asked for, but no Docker engine answered", {
        cause: err,
      });
    }
    throw err;
  }
  const etcd = new EtcdContainer(started, image);
  try {
    // The log line can precede the port mapping being usable from the host: ask until it answers.
    const deadline = Date.now() + 10_000;
    for (;;) {
      try {
        await etcd.status({ timeoutMs: 2_000 });
        return etcd;
      } catch (err) {
        if (Date.now() > deadline) throw err;
        await sleep(200);
      }
    }
  } catch (err) {
    await etcd.close().catch(() => {});
    throw err;
  }
}

/**
 * True when a Docker (or compatible) engine answers, probed through testcontainers' runtime discovery
 * (DOCKER_HOST, the usual sockets, ~/.testcontainers.properties). False, not an error, when the optional
 * peer `testcontainers` is missing or nothing answers within `timeoutMs` (default 5000).
 */
export async function isDockerAvailable(options: { timeoutMs?: number | undefined } = {}): Promise<boolean> {
  let tc: Testcontainers;
  try {
    tc = await import("testcontainers");
  } catch {
    return false;
  }
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<false>((resolve) => {
    timer = setTimeout(() => resolve(false), options.timeoutMs ?? 5_000);
    timer.unref();
  });
  try {
    return await Promise.race([tc.getContainerRuntimeClient().then(() => true), timeout]);
  } catch {
    return false;
  } finally {
    clearTimeout(timer);
  }
}
