import type { Etcd, EtcdOptions } from "../client/index.js";
import type { ResponseHeaders } from "./etcdctl-json.js";
import type { Output } from "./output.js";

/** One option of a command (or a global one), as `--help` shows it and `parseArgs` reads it. */
export interface OptionSpec {
  /** `boolean` for a flag, `string` for an option with a value. */
  readonly type: "boolean" | "string";
  /** One-letter alias, e.g. `h` for `-h`. */
  readonly short?: string | undefined;
  /** What `--help` shows as the value, e.g. `<n>`. Default `<value>`. */
  readonly value?: string | undefined;
  /** One line for `--help`. */
  readonly description: string;
}

/** Options by long name. */
export type OptionSpecs = Readonly<Record<string, OptionSpec>>;

/** What a command runs with: its arguments, where to write, the client, and the stop signal. */
export interface CommandContext {
  /** The positional arguments after the command's name. */
  readonly args: readonly string[];
  /** For commands with `rest`: the words after the last positional (e.g. the program `lock` runs). */
  readonly rest: readonly string[];
  /** Where results go (human, `--json` or `-w json`). */
  readonly out: Output;
  /** The headers of the responses the client received (for `-w json`, whose documents carry them). */
  readonly headers: ResponseHeaders;
  /** Aborted by SIGINT or SIGTERM: streaming commands end cleanly, others stop. */
  readonly signal: AbortSignal;
  /** The environment (for a program started by `lock`). */
  readonly env: NodeJS.ProcessEnv;
  /** True when `--command-timeout` (or its variable) was given: long transfers take it as their deadline. */
  readonly commandTimeoutGiven: boolean;
  /** The value of a string option, undefined when not given. */
  string(name: string): string | undefined;
  /** True when a boolean flag was given. */
  flag(name: string): boolean;
  /** The client, made on first use from the connection flags; the runner closes it. */
  etcd(): Etcd;
  /** The client options the connection flags give (for commands that make one client per endpoint). */
  clientOptions(): EtcdOptions;
}

/** A command: `etcd-ts <name> ...`. */
export interface Command {
  /** The word that runs it, e.g. `get` (or `grant` inside the `lease` group). */
  readonly name: string;
  /** Other words that run it: etcdctl's names where ours differ (`lease timetolive` for `lease ttl`). */
  readonly aliases?: readonly string[] | undefined;
  /**
   * True when it prints etcdctl's JSON under `-w json` (`--write-out=json`); other commands refuse
   * `-w json` and point to `--json`.
   */
  readonly etcdctlJson?: boolean | undefined;
  /** One line for the command list. */
  readonly summary: string;
  /** Arguments as `--help` shows them, e.g. `<key> [range_end]`. */
  readonly usage: string;
  /** How many positional arguments it takes (`max` undefined: any number). */
  readonly args: { readonly min: number; readonly max?: number };
  /**
   * Everything after this many positionals is handed over untouched in `rest` (options included), as
   * `lock <name> <program> [args...]` needs. Default: no rest.
   */
  readonly restAfter?: number | undefined;
  /** Its own options (the global ones apply too). */
  readonly options?: OptionSpecs | undefined;
  /** More on what it does and prints, for `--help`. */
  readonly details?: string | undefined;
  /** Example command lines, for `--help`. */
  readonly examples?: readonly string[] | undefined;
  /** Runs it; the exit code (default 0). */
  run(ctx: CommandContext): Promise<number | undefined>;
}

/** Commands under one word: `etcd-ts lease grant 60`. */
export interface CommandGroup {
  readonly name: string;
  readonly summary: string;
  readonly commands: readonly Command[];
}
