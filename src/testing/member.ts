import { type ChildProcess, spawn } from "node:child_process";
import { readFile, rm } from "node:fs/promises";
import { join } from "node:path";
import { Code } from "@connectrpc/connect";
import { EtcdError, InvalidUsageError, sleep } from "../client/core/index.js";
import { registerCleanup } from "./cleanup.js";
import { changeFailpoint } from "./failpoints.js";
import type { GatewayRequestOptions, GatewayTls } from "./gateway.js";
import { fetchMemberStatus, type MemberStatus } from "./gateway-calls.js";
import { type GatewayCredentials, GatewayLogin, isAuthRefusal } from "./gateway-login.js";

/** Server-side TLS of a member's client URL (peer traffic stays plain). */
export interface MemberTls {
  /** Server certificate file. */
  certFile: string;
  /** Server key file. */
  keyFile: string;
  /** CA file used to verify client certificates (`--trusted-ca-file`, passed only with `clientCertAuth`). */
  caFile: string;
  /** Require a client certificate signed by the CA (`--client-cert-auth`). */
  clientCertAuth: boolean;
}

/** How one etcd member is launched; the cluster fills these in. */
export interface MemberSpec {
  /** Member name (`--name`). */
  name: string;
  /** Path of the etcd binary. */
  binary: string;
  /** Data directory, removed when the member is destroyed. */
  dataDir: string;
  /** Client URL, e.g. `http://127.0.0.1:23790`. */
  clientUrl: string;
  /** Peer URL, e.g. `http://127.0.0.1:23800`. */
  peerUrl: string;
  /** `--initial-cluster` value. */
  initialCluster: string;
  /** `--initial-cluster-state`. */
  initialClusterState: "new" | "existing";
  /** `--initial-cluster-token`. */
  clusterToken: string;
  /** Extra flags, appended last (so they win). */
  extraArgs: string[];
  /** TLS of the client URL (which must then be https). Default none. */
  tls?: MemberTls | undefined;
  /** What the kit itself presents when it calls this member's gateway over TLS. Default none. */
  clientTls?: GatewayTls | undefined;
  /**
   * A unix socket to serve clients on as well: the file `file` (of the form `host:port`, which every etcd
   * line accepts in a `unix://` URL) in `dir`, etcd's working directory. Default none.
   */
  unixSocket?: { dir: string; file: string } | undefined;
  /** Environment of the process, over the kit's own for members (e.g. `GOFAIL_FAILPOINTS`). Default none. */
  env?: Readonly<Record<string, string>> | undefined;
  /** gofail's HTTP endpoint of a failpoint build (its `GOFAIL_HTTP`), e.g. `http://127.0.0.1:23810`. Default none. */
  failpointUrl?: string | undefined;
}

/** Lines of etcd's own log kept for error messages. */
const LOG_TAIL_LINES = 40;
/**
 * What etcd's zap logger prints once it serves clients: "serving client traffic insecurely" or
 * "serving client traffic securely" (TLS) in 3.4 to 3.6.
 */
const READY_MARKER = /serving client traffic|ready to serve client requests/;

/** One etcd process of a throwaway cluster: start, stop, kill, freeze, thaw and restart it. */
export class EtcdMember {
  readonly name: string;
  readonly clientUrl: string;
  readonly peerUrl: string;
  readonly dataDir: string;
  #spec: MemberSpec;
  #child: ChildProcess | undefined;
  #exited: Promise<void> = Promise.resolve();
  #log: string[] = [];
  #frozen = false;
  #memberId: bigint | undefined;
  readonly #login: GatewayLogin;

  constructor(spec: MemberSpec) {
    this.#spec = spec;
    this.name = spec.name;
    this.clientUrl = spec.clientUrl;
    this.peerUrl = spec.peerUrl;
    this.dataDir = spec.dataDir;
    this.#login = new GatewayLogin(spec.clientUrl, spec.clientTls);
  }

  /** The process id while running, else undefined. */
  get pid(): number | undefined {
    return this.#child?.exitCode === null && this.#child.signalCode === null ? this.#child.pid : undefined;
  }

  /** True while the process runs (frozen counts as running). */
  get running(): boolean {
    return this.pid !== undefined;
  }

  /** The member ID, learned from Maintenance/Status once the member was ready (or after `status()`). */
  get memberId(): bigint | undefined {
    return this.#memberId;
  }

  /**
   * The member's unix socket client URL (`unix:///<dir>/localhost:<port>`; `unixs://` with TLS, whose
   * default certificate name is then `localhost`), or undefined when it serves none.
   */
  get unixClientUrl(): string | undefined {
    const socket = this.#spec.unixSocket;
    if (socket === undefined) return undefined;
    return `${this.#spec.tls ? "unixs" : "unix"}://${join(socket.dir, socket.file)}`;
  }

  /** TLS material the kit uses to reach this member's client URL; undefined for plain http. */
  get clientTls(): GatewayTls | undefined {
    return this.#spec.clientTls;
  }

  /**
   * Maintenance/Status of this member through its HTTP gateway; also records `memberId`. With auth on,
   * etcd 3.4.42+, 3.5.28+ and 3.6.9+ answer it only with a token: give the kit a user first
   * (`EtcdCluster.useCredentials`), or this throws `EtcdGatewayError` saying so.
   */
  async status(
    options: { timeoutMs?: number | undefined; signal?: AbortSignal | undefined } = {},
  ): Promise<MemberStatus> {
    const status = await this.callGateway((o) => fetchMemberStatus(this.clientUrl, o), options);
    this.#memberId = status.memberId;
    return status;
  }

  /** gofail's HTTP endpoint when the member runs a failpoint build (`startEtcd({ failpoints })`), else undefined. */
  get failpointUrl(): string | undefined {
    return this.#spec.failpointUrl;
  }

  /**
   * Sets failpoint `name` of the running failpoint build to a gofail term (e.g. `"sleep(8000)"`), or
   * clears it with `undefined` (see `Failpoints`). Lasts until changed again or the process exits; a
   * restart sets the failpoints given to `startEtcd` again.
   * @throws InvalidUsageError when the member runs no failpoint build; `FailpointError` when gofail
   * refuses or does not answer (a frozen member does not).
   */
  async setFailpoint(name: string, term: string | undefined): Promise<void> {
    const url = this.#spec.failpointUrl;
    if (url === undefined)
      throw new InvalidUsageError(
        `etcd member ${this.name} runs no failpoint build: start it with startEtcd({ failpoints })`,
      );
    if (!this.running) throw new InvalidUsageError(`etcd member ${this.name} is not running`);
    await changeFailpoint(url, name, term);
  }

  /**
   * The user the kit authenticates as for its own gateway calls to this member (`status()`, and the
   * cluster's membership changes through it) once auth is on; `undefined` stops authenticating.
   * `EtcdCluster.useCredentials` sets it on every member. Default none.
   */
  useCredentials(credentials: GatewayCredentials | undefined): void {
    this.#login.credentials = credentials;
  }

  /**
   * Runs `request`, a call to this member's HTTP gateway, with the kit's TLS material and, once
   * credentials are set, an auth token: obtained on first use and once more when etcd refuses it (a
   * restart voids simple tokens, and they expire after `--auth-token-ttl` of disuse).
   */
  callGateway<T>(
    request: (options: GatewayRequestOptions) => Promise<T>,
    options: { timeoutMs?: number | undefined; signal?: AbortSignal | undefined } = {},
  ): Promise<T> {
    return this.#login.call(request, options);
  }

  /** True between `freeze()` and `thaw()`. */
  get frozen(): boolean {
    return this.#frozen;
  }

  /** The last lines etcd logged, for diagnostics. */
  logTail(): string {
    return this.#log.join("\n");
  }

  /** Arguments the member is started with (exposed for diagnostics and the Docker path). */
  args(): string[] {
    const s = this.#spec;
    return [
      `--name=${s.name}`,
      `--data-dir=${s.dataDir}`,
      `--listen-client-urls=${s.clientUrl}${s.unixSocket ? `,${s.tls ? "unixs" : "unix"}://${s.unixSocket.file}` : ""}`,
      `--advertise-client-urls=${s.clientUrl}`,
      `--listen-peer-urls=${s.peerUrl}`,
      `--initial-advertise-peer-urls=${s.peerUrl}`,
      `--initial-cluster=${s.initialCluster}`,
      `--initial-cluster-state=${s.initialClusterState}`,
      `--initial-cluster-token=${s.clusterToken}`,
      "--logger=zap",
      "--log-outputs=stderr",
      ...(s.tls
        ? [
            `--cert-file=${s.tls.certFile}`,
            `--key-file=${s.tls.keyFile}`,
            // etcd 3.4 demands client certificates whenever a trusted CA is set, so only mTLS gets one.
            ...(s.tls.clientCertAuth ? [`--trusted-ca-file=${s.tls.caFile}`, "--client-cert-auth"] : []),
          ]
        : []),
      ...s.extraArgs,
    ];
  }

  /**
   * Starts the process and resolves once etcd logs that it serves clients and its gateway answers
   * Maintenance/Status: with a status (which records `memberId`) or, with auth on, with etcd's refusal
   * of a call without a token, which proves the member serves just as well (no credentials needed, no
   * leader either). `waitReady: false` resolves at once. The process is registered for cleanup at exit
   * (see `registerCleanup`) until it exits; on failure it is killed before the error.
   */
  async start(options: { waitReady?: boolean; timeoutMs?: number } = {}): Promise<void> {
    if (this.running) throw new InvalidUsageError(`etcd member ${this.name} is already running`);
    const { waitReady = true, timeoutMs = 30_000 } = options;
    const child = spawn(this.#spec.binary, this.args(), {
      stdio: ["ignore", "pipe", "pipe"],
      env: { ...memberEnv(), ...this.#spec.env },
      // The unix socket's URL is relative to etcd's working directory.
      ...(this.#spec.unixSocket ? { cwd: this.#spec.unixSocket.dir } : {}),
    });
    this.#child = child;
    const release = child.pid !== undefined ? registerCleanup({ pid: child.pid }) : undefined;
    this.#frozen = false;
    this.#log = [];
    let ready!: () => void;
    let failed!: (e: Error) => void;
    const readyPromise = new Promise<void>((res, rej) => {
      ready = res;
      failed = rej;
    });
    const onData = (chunk: Buffer) => {
      for (const line of chunk.toString("utf8").split("\n")) {
        if (!line) continue;
        this.#log.push(line);
        if (this.#log.length > LOG_TAIL_LINES) this.#log.shift();
        if (READY_MARKER.test(line)) ready();
      }
    };
    child.stdout?.on("data", onData);
    child.stderr?.on("data", onData);
    this.#exited = new Promise<void>((resolve) => {
      child.once("exit", (code, signal) => {
        release?.();
        failed(
          new Error(
            `etcd member ${this.name} exited (${signal ?? `code ${code}`}) before it was ready:\n${this.logTail()}`,
          ),
        );
        resolve();
      });
      child.once("error", (err) => {
        release?.();
        failed(new Error(`could not start ${this.#spec.binary}: ${err.message}`));
        resolve();
      });
    });
    if (!waitReady) {
      readyPromise.catch(() => {});
      return;
    }
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, rej) => {
      timer = setTimeout(
        () => rej(new Error(`etcd member ${this.name} not ready after ${timeoutMs} ms:\n${this.logTail()}`)),
        timeoutMs,
      );
    });
    try {
      await Promise.race([readyPromise, timeout]);
      await Promise.race([this.#awaitGateway(timeoutMs), timeout]);
    } catch (err) {
      await this.kill();
      throw err;
    } finally {
      clearTimeout(timer);
    }
  }

  /**
   * Asks for status until the gateway answers: the log line can come a moment before it serves. Asked
   * without a token on purpose: authenticating needs a leader on 3.5+, a member restarting alone has none.
   */
  async #awaitGateway(timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      try {
        const status = await fetchMemberStatus(this.clientUrl, {
          tls: this.#spec.clientTls,
          timeoutMs: 2_000,
        });
        this.#memberId = status.memberId;
        return;
      } catch (err) {
        // Auth is on and Status needs a token (CVE-2026-33413): etcd answered, so it serves.
        if (isAuthRefusal(err)) return;
        if (!this.running || Date.now() > deadline) throw err;
        await sleep(100);
      }
    }
  }

  /** Stops the process gracefully (SIGTERM, then SIGKILL after `graceMs`, default 5000). Data stays. */
  async stop(graceMs = 5_000): Promise<void> {
    const child = this.#child;
    if (!child || !this.running) return;
    if (this.#frozen) this.thaw();
    child.kill("SIGTERM");
    const timer = setTimeout(() => child.kill("SIGKILL"), graceMs);
    await this.#exited;
    clearTimeout(timer);
  }

  /** Kills the process at once with SIGKILL (a crash). Data stays. */
  async kill(): Promise<void> {
    const child = this.#child;
    if (!child || !this.running) return;
    child.kill("SIGKILL");
    await this.#exited;
    this.#frozen = false;
  }

  /**
   * Freezes the process with SIGSTOP (sockets stay open, nothing answers) and resolves once the kernel
   * reports it stopped: kill(2) returns before the signal takes effect, and on a busy machine etcd could
   * still answer a request sent right after it. Where /proc is missing (not Linux) it waits 50 ms.
   */
  async freeze(timeoutMs = 2_000): Promise<void> {
    const child = this.#child;
    const pid = this.pid;
    if (!child || pid === undefined) throw new InvalidUsageError(`etcd member ${this.name} is not running`);
    child.kill("SIGSTOP");
    this.#frozen = true;
    const until = Date.now() + timeoutMs;
    for (;;) {
      const state = await processState(pid);
      if (state === undefined) return sleep(50);
      if (state === "T" || state === "t") return;
      if (Date.now() > until)
        throw new EtcdError(`etcd member ${this.name} did not stop after SIGSTOP (state ${state})`, {
          code: Code.Internal,
        });
      await sleep(5);
    }
  }

  /** Resumes a frozen process with SIGCONT. */
  thaw(): void {
    if (!this.#child || !this.running) throw new InvalidUsageError(`etcd member ${this.name} is not running`);
    this.#child.kill("SIGCONT");
    this.#frozen = false;
  }

  /** Stops (or kills, with `{ kill: true }`) and starts again on the same ports and data. */
  async restart(options: { kill?: boolean; waitReady?: boolean; timeoutMs?: number } = {}): Promise<void> {
    if (options.kill) await this.kill();
    else await this.stop();
    this.#spec = { ...this.#spec, initialClusterState: "existing" };
    await this.start(options);
  }

  /**
   * Sets the `--initial-cluster` flags used by the next start (the cluster calls this before the first
   * one), and the member ID when MemberAdd already told it (a member added under auth cannot be asked).
   */
  configure(initialCluster: string, state: "new" | "existing", memberId?: bigint): void {
    this.#spec = { ...this.#spec, initialCluster, initialClusterState: state };
    if (memberId !== undefined) this.#memberId = memberId;
  }

  /** Kills the process and removes its data directory. */
  async destroy(): Promise<void> {
    await this.kill();
    await rm(this.dataDir, { recursive: true, force: true });
  }
}

/** The one-letter state of a process from /proc (field 3 of stat), or undefined where /proc is missing. */
async function processState(pid: number): Promise<string | undefined> {
  try {
    const stat = await readFile(`/proc/${pid}/stat`, "utf8");
    // Field 3 follows the parenthesised command name, which may contain spaces.
    return stat.slice(stat.lastIndexOf(")") + 2).split(" ")[0];
  } catch {
    return undefined;
  }
}

/**
 * The environment of a member: this process's, without `ETCD_*` variables. etcd reads every `ETCD_<FLAG>`
 * as a flag, so the kit's own `ETCD_BIN`/`ETCD_VERSION` (or a developer's `ETCD_*` settings) must not
 * reconfigure the members the flags describe (etcd 3.4 refuses to start on `ETCD_VERSION=3.4`).
 */
function memberEnv(): NodeJS.ProcessEnv {
  return Object.fromEntries(Object.entries(process.env).filter(([name]) => !name.startsWith("ETCD_")));
}
