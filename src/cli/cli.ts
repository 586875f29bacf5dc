import { readFileSync } from "node:fs";
import { Etcd, EtcdError, type EtcdOptions, InvalidArgumentError } from "../client/index.js";
import { parseCommandLine, positionalIndexes } from "./argv.js";
import type { Command, CommandContext, CommandGroup } from "./command.js";
import { COMMANDS } from "./commands/index.js";
import { type ConnectionSettings, resolveConnection } from "./connection.js";
import { ResponseHeaders } from "./etcdctl-json.js";
import { GLOBAL_OPTIONS } from "./global-options.js";
import { commandHelp, groupHelp, PROGRAM, toolHelp } from "./help.js";
import { Output, type OutputFormat, type OutputStreams } from "./output.js";
import { UsageError } from "./usage-error.js";

/** What the CLI runs with: its streams, its environment and the signal that asks it to stop. */
export interface CliIo extends OutputStreams {
  /** Where `ETCDCTL_*` variables are read; handed to programs that `lock` runs. */
  readonly env: NodeJS.ProcessEnv;
  /** Aborted by SIGINT / SIGTERM. */
  readonly signal: AbortSignal;
}

/** Exit codes: 2 for a wrong command line (as etcdctl), 130 when interrupted before the work was done. */
const EXIT_FAILED = 1;
const EXIT_USAGE = 2;
const EXIT_INTERRUPTED = 130;

/** Runs one command line (`argv` without `node` and the script) and resolves with the exit code. Never rejects. */
export async function runCli(argv: readonly string[], io: CliIo): Promise<number> {
  const write = (stream: NodeJS.WritableStream, text: string) => stream.write(`${text}\n`);
  let helpPath = "";
  try {
    const found = findCommand(argv);
    if (found.kind === "help") {
      write(found.toStderr ? io.stderr : io.stdout, found.text);
      return found.toStderr ? EXIT_USAGE : 0;
    }
    helpPath = found.path;
    return await runCommand(found.path, found.command, found.argv, io);
  } catch (err) {
    if (io.signal.aborted && !(err instanceof UsageError)) {
      write(io.stderr, `${PROGRAM}: interrupted`);
      return EXIT_INTERRUPTED;
    }
    if (err instanceof UsageError || err instanceof InvalidArgumentError) {
      const hint = helpPath ? ` ${helpPath}` : "";
      write(io.stderr, `${PROGRAM}: ${err.message}\nRun '${PROGRAM}${hint} --help' for usage.`);
      return EXIT_USAGE;
    }
    write(io.stderr, `${PROGRAM}: ${describeError(err)}`);
    return EXIT_FAILED;
  }
}

/**
 * One line for an error a user can meet (an EtcdError, a file that cannot be written; line breaks inside,
 * e.g. OpenSSL's, are folded); a stack otherwise.
 */
function describeError(err: unknown): string {
  const oneLine = (text: string) => text.replace(/\s*\n\s*/g, " ").trim();
  if (err instanceof EtcdError) return oneLine(err.message);
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  if (err instanceof Error && typeof code === "string" && /^E[A-Z]+$/.test(code)) return oneLine(err.message);
  return `unexpected error (please report it): ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`;
}

type Found =
  | { kind: "help"; text: string; toStderr: boolean }
  | { kind: "command"; path: string; command: Command; argv: string[] };

/** Finds the command (and group) words in `argv`; what is left is the command's own arguments. */
function findCommand(argv: readonly string[]): Found {
  const wantsHelp = argv.includes("--help") || argv.includes("-h");
  const first = positionalIndexes(argv, GLOBAL_OPTIONS)[0];
  if (first === undefined) {
    if (argv.includes("--version")) return { kind: "help", text: version(), toStderr: false };
    return { kind: "help", text: toolHelp(COMMANDS), toStderr: !wantsHelp };
  }
  const word = argv[first]!;
  if (word === "help") return helpFor(argv.slice(first + 1));
  const entry = COMMANDS.find((c) => named(c, word));
  if (!entry) throw new UsageError(`unknown command ${JSON.stringify(word)}`);
  const rest = argv.filter((_, i) => i !== first);
  if (!isGroup(entry)) return { kind: "command", path: entry.name, command: entry, argv: rest };
  const second = positionalIndexes(rest, GLOBAL_OPTIONS)[0];
  if (second === undefined) return { kind: "help", text: groupHelp(entry), toStderr: !wantsHelp };
  const sub = entry.commands.find((c) => named(c, rest[second]!));
  if (!sub)
    throw new UsageError(
      `unknown command ${JSON.stringify(`${entry.name} ${rest[second]}`)} (${entry.name} takes ${entry.commands.map((c) => c.name).join(", ")})`,
    );
  return {
    kind: "command",
    path: `${entry.name} ${sub.name}`,
    command: sub,
    argv: rest.filter((_, i) => i !== second),
  };
}

/** `etcd-ts help [command [subcommand]]`. */
function helpFor(words: readonly string[]): Found {
  const entry = COMMANDS.find((c) => words[0] !== undefined && named(c, words[0]));
  if (!entry) {
    if (words.length > 0) throw new UsageError(`unknown command ${JSON.stringify(words[0])}`);
    return { kind: "help", text: toolHelp(COMMANDS), toStderr: false };
  }
  if (!isGroup(entry)) return { kind: "help", text: commandHelp(entry.name, entry), toStderr: false };
  const sub = entry.commands.find((c) => words[1] !== undefined && named(c, words[1]));
  if (!sub) return { kind: "help", text: groupHelp(entry), toStderr: false };
  return { kind: "help", text: commandHelp(`${entry.name} ${sub.name}`, sub), toStderr: false };
}

/** True when `word` runs `entry`: its name, or one of its aliases (etcdctl's names). */
function named(entry: Command | CommandGroup, word: string): boolean {
  return entry.name === word || (!isGroup(entry) && (entry.aliases?.includes(word) ?? false));
}

function isGroup(entry: Command | CommandGroup): entry is CommandGroup {
  return "commands" in entry;
}

function version(): string {
  // ../../package.json from both src/cli/ and dist/cli/.
  const pkg = JSON.parse(readFileSync(new URL("../../package.json", import.meta.url), "utf8")) as {
    version: string;
  };
  return `${PROGRAM} ${pkg.version}`;
}

/**
 * Checks a command line without running it (nothing is read, written or sent): the command exists, its
 * options are known and have values, the argument count fits, the output format is one it prints.
 * Throws the `UsageError` a run would print. The docs' tests check every `etcd-ts ...` line they show.
 */
export function checkCommandLine(argv: readonly string[]): void {
  const found = findCommand(argv);
  if (found.kind === "command") parseFor(found.path, found.command, found.argv);
}

/** Parses a command's words and checks its argument count and output format (see {@link checkCommandLine}). */
function parseFor(
  path: string,
  command: Command,
  argv: readonly string[],
): { parsed: ReturnType<typeof parseCommandLine>; format: OutputFormat } {
  const options = { ...GLOBAL_OPTIONS, ...command.options };
  const parsed = parseCommandLine(argv, options, command.restAfter);
  if (parsed.values.help) return { parsed, format: "human" };
  const count = parsed.positionals.length;
  const { min, max } = command.args;
  if (count < min || (max !== undefined && count > max))
    throw new UsageError(`${path}: expected ${command.usage || "no arguments"}, got ${count} argument(s)`);
  return { parsed, format: outputFormat(path, command, parsed.values) };
}

async function runCommand(path: string, command: Command, argv: string[], io: CliIo): Promise<number> {
  const { parsed, format } = parseFor(path, command, argv);
  if (parsed.values.help) {
    io.stdout.write(`${commandHelp(path, command)}\n`);
    return 0;
  }
  const strings: Record<string, string | undefined> = {};
  for (const [name, value] of Object.entries(parsed.values))
    if (typeof value === "string") strings[name] = value;
  const connection: ConnectionSettings = await resolveConnection({
    strings,
    insecureSkipTlsVerify: parsed.values["insecure-skip-tls-verify"] === true,
    env: io.env,
  });
  // etcdctl's JSON carries each response's header, which the library's results do not: a tap keeps it.
  const headers = new ResponseHeaders();
  const clientOptions: EtcdOptions =
    format === "etcdctl-json"
      ? {
          ...connection.options,
          interceptors: [...(connection.options.interceptors ?? []), headers.interceptor],
        }
      : connection.options;
  let etcd: Etcd | undefined;
  const ctx: CommandContext = {
    args: parsed.positionals,
    rest: parsed.rest,
    out: new Output(io, format),
    headers,
    signal: io.signal,
    env: io.env,
    commandTimeoutGiven: connection.commandTimeoutGiven,
    string: (name) => strings[name],
    flag: (name) => parsed.values[name] === true,
    etcd: () => {
      etcd ??= new Etcd(clientOptions);
      return etcd;
    },
    clientOptions: () => clientOptions,
  };
  try {
    return (await command.run(ctx)) ?? 0;
  } finally {
    await etcd?.close();
  }
}

/**
 * The output format from `--json` (etcd-ts' JSON) and etcdctl's `-w` / `--write-out` (`simple`, the
 * default, or `json`, etcdctl's JSON shape, for the commands that have one). Refuses both at once, and
 * formats etcd-ts does not print (`fields`, `protobuf`, `table`), naming what it takes.
 */
function outputFormat(
  path: string,
  command: Command,
  values: Readonly<Record<string, string | boolean | undefined>>,
): OutputFormat {
  const writeOut = values["write-out"];
  if (typeof writeOut !== "string") return values.json === true ? "json" : "human";
  if (values.json === true)
    throw new UsageError("--json and --write-out both choose the output: give one (--json is etcd-ts' JSON)");
  if (writeOut === "simple") return "human";
  if (writeOut !== "json")
    throw new UsageError(
      `--write-out ${JSON.stringify(writeOut)}: etcd-ts prints simple (the default) and json (etcdctl's JSON); lists are tables in simple`,
    );
  if (!command.etcdctlJson)
    throw new UsageError(
      `${path}: -w json (etcdctl's JSON) is not available for this command; --json prints etcd-ts' JSON`,
    );
  return "etcdctl-json";
}
