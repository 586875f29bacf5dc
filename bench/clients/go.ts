import { fileURLToPath } from "node:url";
import { buildGoProgram, findGo, type GoProgramSource } from "../../test/interop/go-build.js";
import { GoProgram } from "../../test/interop/go-program.js";
import { type Measurement, type MeasureOptions, measurementOf } from "../measure.js";

/** bench/go: etcd's Go client (go.etcd.io/etcd/client/v3, pinned in its go.mod) as a benchmark client. */
export const BENCH_GO_PROGRAM: GoProgramSource = {
  dir: fileURLToPath(new URL("../go/", import.meta.url)),
  name: "bench",
  neededBy: "the Go client of the benchmarks (bench/go)",
};

/** What a round of the Go client runs: one of bench/go's operations, with the keys and value of the case. */
export type GoOperation =
  | { op: "put"; keyPrefix: string; spread: number; value: string }
  | { op: "range"; key: string }
  | { op: "txn"; keys: string[]; value: string };

/** What bench/go's `run` answers for one measured window. */
interface GoWindow {
  ops: number;
  errors: number;
  elapsedMs: number;
  cpuUs: number;
  p50Us: number;
}

/** What bench/go's `watch-wait` answers: a trickle's events as its watch received them, and its CPU. */
export interface GoTrickle {
  events: number;
  responses: number;
  cpuUs: number;
  elapsedMs: number;
}

/** Longer than any round may take beyond its own length: only catches a hung Go program. */
const HANG_MARGIN_MS = 60_000;

/**
 * etcd's Go client in a process of its own (bench/go), measured round by round like the TypeScript
 * clients: each `round()` runs warm-up and window in the Go process, which counts its own CPU
 * (getrusage), so that bench/run.ts can interleave it with them.
 */
export class GoBenchClient {
  /** The name in the printed table and in the results (`go`, or `go@3.6` in a versions run). */
  readonly name: string;
  readonly #program: GoProgram;

  private constructor(program: GoProgram, name: string) {
    this.#program = program;
    this.name = name;
  }

  /** The go.etcd.io/etcd/client/v3 version the program was built with (from its build info). */
  get goClient(): string {
    return this.#program.goClient;
  }

  /** Starts bench/go (built by {@link buildGoBench}) against `endpoint`. */
  static async start(binary: string, endpoint: string, name = "go"): Promise<GoBenchClient> {
    return new GoBenchClient(await GoProgram.start(binary, { endpoints: [endpoint] }), name);
  }

  /** One round: `operation` with `concurrency` calls in flight, warm-up then measured window. */
  async round(operation: GoOperation, options: MeasureOptions): Promise<Measurement> {
    const w = await this.#program.request<GoWindow>(
      "run",
      { ...operation, ...options },
      options.warmupMs + options.durationMs + HANG_MARGIN_MS,
    );
    return measurementOf({ ...w, p50Us: w.ops > 0 ? w.p50Us : Number.NaN });
  }

  /** Puts `count` keys `keyPrefix0`, `keyPrefix1`, ... one at a time: the writes of a watch trickle. */
  async putTrickle(keyPrefix: string, count: number, hangMs: number): Promise<void> {
    await this.#program.request("put-trickle", { keyPrefix, count }, hangMs);
  }

  /** Opens a watch on the prefix `keyPrefix`; resolves once etcd created it (Go's CPU count starts then). */
  async watchStart(keyPrefix: string): Promise<void> {
    await this.#program.request("watch-start", { keyPrefix });
  }

  /** Waits until the watch received `count` events (at most `timeoutMs`), then closes it. */
  watchWait(count: number, timeoutMs: number): Promise<GoTrickle> {
    return this.#program.request<GoTrickle>("watch-wait", { count, timeoutMs }, timeoutMs + HANG_MARGIN_MS);
  }

  /**
   * Holds `count` connections, idle watches on one stream, or idle watches each on a stream of its own
   * (bench/memory.ts), and reports bytes per item: live heap + goroutine stacks, and memory from the OS.
   * Run once per process: the figures are differences from the process's state before.
   */
  memory(
    op: "connections" | "watches" | "streams",
    count: number,
  ): Promise<{ livePerItem: number; sysPerItem: number }> {
    return this.#program.request("memory", { op, count }, 10 * HANG_MARGIN_MS);
  }

  /** Ends the Go process. */
  close(): Promise<void> {
    return this.#program.close();
  }
}

/**
 * The path of bench/go's binary (built once per source version, cached outside the repository), or
 * `{ missing }` saying why there is none when this machine has no Go: the benchmarks then run without the
 * Go client. A Go that is there but fails to build is an error, not a reason to leave Go out. `env` and
 * `fallback` are where Go is looked for (`PATH`, then /usr/local/go/bin/go).
 */
export async function buildGoBench(
  env: NodeJS.ProcessEnv = process.env,
  fallback?: string,
): Promise<{ binary: string } | { missing: string }> {
  try {
    findGo(env, fallback, BENCH_GO_PROGRAM.neededBy);
  } catch (err) {
    return { missing: (err as Error).message };
  }
  return { binary: await buildGoProgram(BENCH_GO_PROGRAM) };
}
