import { type ChildProcess, spawn } from "node:child_process";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";

/** Options of {@link ChildGreeter.start}. */
export interface ChildGreeterOptions {
  /** Lease TTL in seconds of its registration. Default 10. */
  ttl?: number;
  /** Where the child's output lines go (prefixed with its pid). Default `console.log`. */
  log?: (line: string) => void;
  /** How long to wait for `ready`. Default 20000 (tsx compiles on the fly). */
  readyTimeoutMs?: number;
}

/** The parent's handle on `server-process.ts` running in its own Node process. */
export class ChildGreeter {
  readonly pid: number;
  readonly addr: string;
  /** Settles when the process has exited: its exit code, or the signal that ended it. */
  readonly exited: Promise<number | NodeJS.Signals>;
  readonly #child: ChildProcess;

  private constructor(child: ChildProcess, addr: string, exited: Promise<number | NodeJS.Signals>) {
    this.#child = child;
    this.pid = child.pid!;
    this.addr = addr;
    this.exited = exited;
  }

  /** Starts `server-process.ts` (one process: `node --import tsx`, so a signal reaches the server itself). */
  static async start(
    endpoint: string,
    port: number,
    options: ChildGreeterOptions = {},
  ): Promise<ChildGreeter> {
    const log = options.log ?? console.log;
    const script = fileURLToPath(new URL("./server-process.ts", import.meta.url));
    const child = spawn(
      process.execPath,
      [
        "--import",
        import.meta.resolve("tsx"),
        script,
        endpoint,
        String(port),
        String(options.ttl ?? 10),
        "--exit-with-stdin",
      ],
      { stdio: ["pipe", "pipe", "inherit"] },
    );
    const exited = new Promise<number | NodeJS.Signals>((resolve) =>
      child.once("exit", (code, signal) => resolve(signal ?? code ?? 0)),
    );
    const addr = await new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => {
        child.kill("SIGKILL");
        reject(new Error(`server-process.ts not ready within ${options.readyTimeoutMs ?? 20_000} ms`));
      }, options.readyTimeoutMs ?? 20_000);
      exited.then((how) => {
        clearTimeout(timer);
        reject(new Error(`server-process.ts exited (${how}) before it was ready`));
      });
      createInterface({ input: child.stdout! }).on("line", (line) => {
        if (line.startsWith("ready ")) {
          clearTimeout(timer);
          resolve(line.slice("ready ".length));
        } else {
          log(`   [pid ${child.pid}] ${line}`);
        }
      });
    });
    return new ChildGreeter(child, addr, exited);
  }

  /** A crash: SIGKILL, no cleanup; its registration stays until its lease expires. */
  async kill(): Promise<number | NodeJS.Signals> {
    this.#child.kill("SIGKILL");
    return this.exited;
  }

  /** A deployment's stop: SIGTERM, which the child answers by draining and deregistering. */
  async terminate(): Promise<number | NodeJS.Signals> {
    this.#child.kill("SIGTERM");
    return this.exited;
  }
}
