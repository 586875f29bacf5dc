import type { KeyRange } from "../client/index.js";
import type { CommandContext, OptionSpecs } from "./command.js";
import { UsageError } from "./usage-error.js";

/** `--prefix` and `--from-key`, shared by `get`, `del` and `watch`. */
export const RANGE_OPTIONS: OptionSpecs = {
  prefix: { type: "boolean", description: "every key that starts with <key> ('' with --prefix: all keys)" },
  "from-key": { type: "boolean", description: "every key from <key> on, in byte order" },
};

/** The key or range that `<key> [range_end]`, `--prefix` and `--from-key` name (at most one of the three forms). */
export function keyRangeOf(ctx: CommandContext): string | KeyRange {
  const [key, end] = ctx.args as [string, string | undefined];
  const prefix = ctx.flag("prefix");
  const fromKey = ctx.flag("from-key");
  if ([prefix, fromKey, end !== undefined].filter(Boolean).length > 1)
    throw new UsageError("give one of --prefix, --from-key and [range_end]");
  if (prefix) return { prefix: key };
  if (fromKey) return { fromKey: key };
  if (end !== undefined) return { key, end };
  return key;
}
