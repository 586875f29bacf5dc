// Drives the Go program of test/interop/go: one process per etcd client configuration, JSON requests
// on its stdin, JSON answers and watch events on its stdout (protocol.go says what each command does).
// bench/go, the benchmark's Go client, speaks the same framing and is driven by this class too.
import { type ChildProcess, spawn } from "node:child_process";
import { registerCleanup } from "../../src/testing/cleanup.js";
import { until, within } from "../support/wait.js";

/** How the Go program connects: etcd's client URLs and, with auth on, a user. */
export interface GoClientConfig {
  endpoints: string[];
  user?: { username: string; password: string } | undefined;
}

/** One event of a Go watch, as `clientv3.Event` gave it. */
export interface GoWatchEvent {
  type: "PUT" | "DELETE";
  key: string;
  value: string;
  modRevision: number;
  createRevision: number;
}

/** A request sent and not necessarily answered yet: for commands that block (lock, campaign). */
export interface PendingRequest<T> {
  readonly id: string;
  readonly result: Promise<T>;
  /** True once the Go program answered (either way). */
  readonly settled: () => boolean;
}

/** A Go command answered with an error. */
export class GoCommandError extends Error {
  override name = "GoCommandError";
}

/** Lines of Go's stderr kept for failure messages. */
const STDERR_TAIL = 40;
/** Deadline for a request that should answer promptly: only catches hangs. */
const REQUEST_TIMEOUT_MS = 30_000;

interface Waiter {
  resolve(result: unknown): void;
  reject(err: Error): void;
}

/** The running Go program. Start it with {@link GoProgram.start}; `close()` ends it. */
export class GoProgram {
  /** The go.etcd.io/etcd/client/v3 version the program was built with (from its build info). */
  goClient = "";
  readonly #process: ChildProcess;
  readonly #waiters = new Map<string, Waiter>();
  readonly #events = new Map<string, GoWatchEvent[]>();
  readonly #ends = new Map<string, string>();
  readonly #stderr: string[] = [];
  readonly #exited: Promise<void>;
  #ready: ((goClient: string) => void) | undefined;
  #nextId = 0;
  #rest = "";
  #exit: string | undefined;

  private constructor(binary: string, config: GoClientConfig) {
    const args = ["-endpoints", config.endpoints.join(",")];
    if (config.user) args.push("-user", config.user.username, "-password", config.user.password);
    this.#process = spawn(binary, args, { stdio: ["pipe", "pipe", "pipe"] });
    const child = this.#process;
    const release = child.pid !== undefined ? registerCleanup({ pid: child.pid }) : () => {};
    child.stdout!.setEncoding("utf8");
    child.stdout!.on("data", (chunk: string) => this.#onStdout(chunk));
    child.stderr!.setEncoding("utf8");
    child.stderr!.on("data", (chunk: string) => {
      this.#stderr.push(...chunk.split("\n").filter(Boolean));
      this.#stderr.splice(0, Math.max(0, this.#stderr.length - STDERR_TAIL));
    });
    this.#exited = new Promise<void>((resolve) => {
      const onEnd = (why: string) => {
        release();
        this.#exit = why;
        const err = new GoCommandError(`the Go program ended (${why}) ${this.#stderrTail()}`);
        for (const w of this.#waiters.values()) w.reject(err);
        this.#waiters.clear();
        resolve();
      };
      child.once("close", (code, signal) => onEnd(`exit code ${code}, signal ${signal}`));
      child.once("error", (err) => onEnd(`spawn failed: ${err.message}`));
    });
  }

  /** Starts the program and waits for its ready line. */
  static async start(binary: string, config: GoClientConfig): Promise<GoProgram> {
    const program = new GoProgram(binary, config);
    const ready = new Promise<string>((resolve) => {
      program.#ready = resolve;
    });
    const ended = program.#exited.then(() => {
      throw new GoCommandError(
        `the Go program ended before it was ready (${program.#exit}) ${program.#stderrTail()}`,
      );
    });
    program.goClient = await Promise.race([ready, ended]);
    return program;
  }

  /**
   * Sends `cmd` and waits for its answer. Go bounds each command by 20 s (or `timeoutMs` in `args`);
   * `hangMs` (30 s unless given: a command that runs longer on purpose, such as a benchmark round, gives
   * its own) only catches a hung program.
   */
  request<T = Record<string, unknown>>(
    cmd: string,
    args: Record<string, unknown> = {},
    hangMs = REQUEST_TIMEOUT_MS,
  ): Promise<T> {
    return within(this.send<T>(cmd, args).result, `Go ${cmd} ${JSON.stringify(args)}`, hangMs);
  }

  /** Sends `cmd` without waiting: for commands that block until something else happens. */
  send<T = Record<string, unknown>>(cmd: string, args: Record<string, unknown> = {}): PendingRequest<T> {
    const id = `r${++this.#nextId}`;
    let settled = false;
    const result = new Promise<T>((resolve, reject) => {
      if (this.#exit !== undefined) {
        reject(new GoCommandError(`the Go program ended (${this.#exit}); ${cmd} not sent`));
        return;
      }
      this.#waiters.set(id, {
        resolve: (r) => {
          settled = true;
          resolve(r as T);
        },
        reject: (e) => {
          settled = true;
          reject(e);
        },
      });
      this.#process.stdin!.write(`${JSON.stringify({ ...args, id, cmd })}\n`);
    });
    // A caller may look at a pending request only later: its rejection must not be unhandled meanwhile.
    result.catch(() => {});
    return { id, result, settled: () => settled };
  }

  /** Cancels a pending request (its context in Go); its promise then rejects with Go's error. */
  async cancel(pending: PendingRequest<unknown>): Promise<void> {
    await this.request("cancel", { target: pending.id });
  }

  /**
   * Starts Go watch `id` on `key` (`prefix: true` for a prefix; `namespace` through namespace.NewWatcher)
   * from revision `rev`; resolves once etcd created it. Its events collect in {@link events}.
   */
  async watch(
    id: string,
    options: { key: string; prefix?: boolean; rev: bigint | number; namespace?: string },
  ): Promise<void> {
    this.#events.set(id, []);
    await this.request("watch", { watch: id, ...options, rev: Number(options.rev) });
  }

  /** The events Go watch `id` delivered so far, in order. */
  events(id: string): GoWatchEvent[] {
    return this.#events.get(id) ?? [];
  }

  /** Waits until Go watch `id` delivered an event on `key`; fails if the watch ended first. */
  async waitForEvent(id: string, key: string, timeoutMs = 20_000): Promise<void> {
    await until(
      `Go watch ${id} to deliver an event on ${key}`,
      () => {
        const end = this.#ends.get(id);
        if (end !== undefined) throw new GoCommandError(`Go watch ${id} ended: ${end}`);
        return this.events(id).some((e) => e.key === key);
      },
      timeoutMs,
    );
  }

  /** Ends the program: closes stdin (it then revokes its sessions and leases and exits), SIGKILL after 10 s. */
  async close(): Promise<void> {
    if (this.#exit !== undefined) return;
    this.#process.stdin!.end();
    const timer = setTimeout(() => this.#process.kill("SIGKILL"), 10_000);
    await this.#exited;
    clearTimeout(timer);
  }

  #onStdout(chunk: string): void {
    const lines = (this.#rest + chunk).split("\n");
    this.#rest = lines.pop() ?? "";
    for (const line of lines) if (line.trim()) this.#onLine(line);
  }

  #onLine(line: string): void {
    let msg: Record<string, unknown>;
    try {
      msg = JSON.parse(line);
    } catch {
      this.#stderr.push(`(stdout) ${line}`);
      return;
    }
    if (msg.ready === true) {
      this.#ready?.(String(msg.goClient));
      return;
    }
    if (typeof msg.watch === "string" && msg.id === undefined) {
      if (typeof msg.end === "string") this.#ends.set(msg.watch, msg.end);
      else this.#events.get(msg.watch)?.push(msg as unknown as GoWatchEvent);
      return;
    }
    const waiter = this.#waiters.get(String(msg.id));
    if (!waiter) return;
    this.#waiters.delete(String(msg.id));
    if (msg.ok === true) waiter.resolve(msg.result);
    else waiter.reject(new GoCommandError(`Go: ${String(msg.error)}`));
  }

  #stderrTail(): string {
    return this.#stderr.length ? `; stderr:\n${this.#stderr.join("\n")}` : "";
  }
}
