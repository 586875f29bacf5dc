import { type ParseArgsConfig, parseArgs } from "node:util";
import type { OptionSpecs } from "./command.js";
import { UsageError } from "./usage-error.js";

/**
 * The indexes of the positional words of `argv`: what is neither an option nor an option's value
 * (`--endpoints x`), nor after a `--` (those are returned too). Unknown options count as flags here;
 * `parseArgs` refuses them later with a clear message.
 */
export function positionalIndexes(argv: readonly string[], options: OptionSpecs): number[] {
  const found: number[] = [];
  for (let i = 0; i < argv.length; i++) {
    const word = argv[i]!;
    if (word === "--") {
      for (let j = i + 1; j < argv.length; j++) found.push(j);
      break;
    }
    if (word.startsWith("--")) {
      if (!word.includes("=") && options[word.slice(2)]?.type === "string") i++;
    } else if (word.startsWith("-") && word.length > 1) {
      const last = word.at(-1)!;
      const spec = Object.values(options).find((o) => o.short === last);
      if (spec?.type === "string") i++;
    } else found.push(i);
  }
  return found;
}

/** What {@link parseCommandLine} read. */
export interface ParsedCommandLine {
  /** Option values by long name. */
  readonly values: Readonly<Record<string, string | boolean | undefined>>;
  /** The positional words. */
  readonly positionals: string[];
  /** The words after positional number `restAfter`, untouched. */
  readonly rest: string[];
}

/**
 * Parses `argv` (the command's words removed) with Node's `parseArgs` against `options`: unknown
 * options and missing values become a `UsageError`. With `restAfter`, parsing stops at the positional
 * after that many, whose words are returned as `rest`.
 */
export function parseCommandLine(
  argv: readonly string[],
  options: OptionSpecs,
  restAfter?: number,
): ParsedCommandLine {
  let head = [...argv];
  let rest: string[] = [];
  if (restAfter !== undefined) {
    const at = positionalIndexes(argv, options)[restAfter];
    if (at !== undefined) {
      // A `--` just before the rest belongs to neither side.
      const cut = argv[at - 1] === "--" ? at - 1 : at;
      head = argv.slice(0, cut);
      rest = argv.slice(at);
    }
  }
  const config: ParseArgsConfig = { args: head, options: {}, allowPositionals: true, strict: true };
  for (const [name, spec] of Object.entries(options))
    config.options![name] = spec.short ? { type: spec.type, short: spec.short } : { type: spec.type };
  try {
    const parsed = parseArgs(config);
    return {
      values: parsed.values as Record<string, string | boolean | undefined>,
      positionals: parsed.positionals,
      rest,
    };
  } catch (err) {
    // parseArgs' own messages are clear but long; keep the first sentence.
    const message = (err as Error).message.split(/\.\s/)[0]!.replace(/\.$/, "");
    throw new UsageError(message);
  }
}
