import { type ChildProcess, spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import { registerCleanup } from "../../src/testing/cleanup.js";
import { compiled } from "./compiled.js";

/** One JSON line a fixture printed on stdout. */
export type ChildEvent = { readonly type: string } & Readonly<Record<string, unknown>>;

/** How a child ended. */
export interface ChildExit {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
}

/** Lines of the child's stderr kept for failure messages. */
const STDERR_TAIL_LINES = 30;

/** The path of a script in test/fixtures/. */
export function fixturePath(name: string): string {
  return fileURLToPath(new URL(`../fixtures/${name}`, import.meta.url));
}

/**
 * A fixture script run as its own Node process (`node script.mjs <args>`, bundled from its source by
 * {@link compiled}), the way a user runs a program: stdin is closed (nothing of ours keeps it alive), stdout is read as JSON lines (the
 * script's events), stderr is kept for failure messages. Every wait has a deadline and fails at once,
 * naming what it waited for, if the child exits first.
 */
export class Child {
  /** Every JSON line printed so far, in order. */
  readonly events: ChildEvent[] = [];
  /** Every non-empty line printed on stdout so far (JSON or not), in order. */
  readonly lines: string[] = [];
  readonly #name: string;
  readonly #process: ChildProcess;
  readonly #exited: Promise<ChildExit>;
  readonly #stderr: string[] = [];
  readonly #waiters = new Set<() => void>();
  #exit: ChildExit | undefined;
  #stdoutRest = "";
  #stderrRest = "";

  private constructor(name: string, child: ChildProcess) {
    this.#name = name;
    this.#process = child;
    const release = child.pid !== undefined ? registerCleanup({ pid: child.pid }) : () => {};
    child.stdout!.setEncoding("utf8");
    child.stdout!.on("data", (chunk: string) => this.#onStdout(chunk));
    child.stderr!.setEncoding("utf8");
    child.stderr!.on("data", (chunk: string) => this.#onStderr(chunk));
    this.#exited = new Promise<ChildExit>((resolve) => {
      // "close", not "exit": every line the child printed has been read by then.
      child.once("close", (code, signal) => {
        release();
        if (this.#stdoutRest) this.#onLine(this.#stdoutRest);
        if (this.#stderrRest) this.#pushStderr(this.#stderrRest);
        this.#exit = { code, signal };
        resolve(this.#exit);
        this.#wake();
      });
      child.once("error", (err) => {
        release();
        this.#pushStderr(`spawn failed: ${err.message}`);
        this.#exit = { code: null, signal: null };
        resolve(this.#exit);
        this.#wake();
      });
    });
  }

  /** Starts `test/fixtures/<script>` with `args`. */
  static start(script: string, args: string[]): Child {
    return Child.spawn(script, process.execPath, [compiled(fixturePath(script)), ...args]);
  }

  /**
   * Starts any program the same way (stdin closed, stdout read as JSON lines), e.g. a script under Bun
   * or Deno. `name` appears in failure messages; `env` is added to this process's environment.
   */
  static spawn(name: string, command: string, args: string[], env: NodeJS.ProcessEnv = {}): Child {
    const child = spawn(command, args, {
      stdio: ["ignore", "pipe", "pipe"],
      env: { ...process.env, ...env },
    });
    return new Child(name, child);
  }

  /** How the child ended; undefined while it runs. */
  get exit(): ChildExit | undefined {
    return this.#exit;
  }

  /** True while the process runs. */
  get running(): boolean {
    return this.#exit === undefined;
  }

  /** The last lines of the child's stderr. */
  stderrTail(): string {
    return this.#stderr.join("\n");
  }

  /** Events of one type, in order. */
  eventsOf(type: string): ChildEvent[] {
    return this.events.filter((e) => e.type === type);
  }

  /**
   * Resolves with the first event (from index `since` on, default 0) that `match` accepts. Rejects when
   * the child exits before one arrives or after `timeoutMs`, with `what` and the child's stderr tail.
   */
  waitFor(
    what: string,
    match: (event: ChildEvent) => boolean,
    options: { timeoutMs?: number; since?: number } = {},
  ): Promise<ChildEvent> {
    return this.#firstOf(what, this.events, match, options);
  }

  /**
   * Resolves with the first stdout line (from index `since` on, default 0) that `match` accepts; rejects
   * like {@link waitFor}.
   */
  waitForLine(
    what: string,
    match: (line: string) => boolean,
    options: { timeoutMs?: number; since?: number } = {},
  ): Promise<string> {
    return this.#firstOf(what, this.lines, match, options);
  }

  /**
   * Polls `check` (every 10 ms) until it is true, for state outside the child (a proxy's connections, a
   * key in etcd). Rejects like {@link waitFor}: at the deadline, or at once if the child exits.
   */
  async until(what: string, check: () => boolean | Promise<boolean>, timeoutMs = 20_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      if (this.#exit) throw this.#failure(`exited (${describeExit(this.#exit)}) while waiting for ${what}`);
      if (await check()) return;
      if (Date.now() > deadline) throw this.#failure(`(still running): no ${what} within ${timeoutMs} ms`);
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
  }

  /** Resolves with how the child ended; rejects after `timeoutMs` (the child keeps running). */
  waitForExit(what: string, timeoutMs = 15_000): Promise<ChildExit> {
    return this.#wait(what, timeoutMs, () => this.#exit);
  }

  /** Sends `signal` to the child if it runs. */
  signal(signal: NodeJS.Signals): void {
    if (this.running) this.#process.kill(signal);
  }

  /** SIGKILLs the child if it still runs and waits until it is gone. */
  async kill(): Promise<void> {
    if (this.running) this.#process.kill("SIGKILL");
    await this.#exited;
  }

  /** The first entry of `list` (growing as the child prints) from `since` on that `match` accepts. */
  #firstOf<T>(
    what: string,
    list: readonly T[],
    match: (entry: T) => boolean,
    options: { timeoutMs?: number; since?: number },
  ): Promise<T> {
    const { timeoutMs = 20_000 } = options;
    let next = options.since ?? 0;
    return this.#wait(what, timeoutMs, () => {
      for (; next < list.length; next++) {
        const entry = list[next]!;
        if (match(entry)) return entry;
      }
      if (this.#exit) throw this.#failure(`exited (${describeExit(this.#exit)}) while waiting for ${what}`);
      return undefined;
    });
  }

  /** An error naming the child, with `message` and its stderr tail. */
  #failure(message: string): Error {
    return new Error(`${this.#name} ${message}\n--- child stderr (tail) ---\n${this.stderrTail()}`);
  }

  #wait<T>(what: string, timeoutMs: number, check: () => T | undefined): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const finish = (fn: () => void) => {
        clearTimeout(timer);
        this.#waiters.delete(poll);
        fn();
      };
      const poll = () => {
        try {
          const value = check();
          if (value !== undefined) finish(() => resolve(value));
        } catch (err) {
          finish(() => reject(err));
        }
      };
      const timer = setTimeout(() => {
        const state = this.#exit ? `exited (${describeExit(this.#exit)})` : "still running";
        finish(() => reject(this.#failure(`(${state}): no ${what} within ${timeoutMs} ms`)));
      }, timeoutMs);
      this.#waiters.add(poll);
      poll();
    });
  }

  #wake(): void {
    for (const poll of [...this.#waiters]) poll();
  }

  #onStdout(chunk: string): void {
    const lines = (this.#stdoutRest + chunk).split("\n");
    this.#stdoutRest = lines.pop()!;
    for (const line of lines) this.#onLine(line);
    this.#wake();
  }

  #onLine(line: string): void {
    if (!line.trim()) return;
    this.lines.push(line);
    try {
      const parsed = JSON.parse(line) as unknown;
      if (parsed && typeof parsed === "object" && typeof (parsed as ChildEvent).type === "string") {
        this.events.push(parsed as ChildEvent);
        return;
      }
    } catch {
      // Not one of the fixture's events: keep it with stderr, where a failure message shows it.
    }
    this.#pushStderr(`[stdout] ${line}`);
  }

  #onStderr(chunk: string): void {
    const lines = (this.#stderrRest + chunk).split("\n");
    this.#stderrRest = lines.pop()!;
    for (const line of lines) this.#pushStderr(line);
  }

  #pushStderr(line: string): void {
    this.#stderr.push(line);
    if (this.#stderr.length > STDERR_TAIL_LINES) this.#stderr.shift();
  }
}

/** `code 13`, `signal SIGKILL`. */
export function describeExit(exit: ChildExit): string {
  if (exit.signal) return `signal ${exit.signal}`;
  // Node's code for a top-level await that can never settle: no ref'd handle was left to wake it.
  if (exit.code === 13) return "code 13: unsettled top-level await, nothing kept the process alive";
  return `code ${exit.code}`;
}
