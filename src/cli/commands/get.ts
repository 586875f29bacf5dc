import type { Command } from "../command.js";
import { rangeJson } from "../etcdctl-json.js";
import { parseInteger } from "../ids.js";
import { keyRangeOf, RANGE_OPTIONS } from "../key-range.js";

/** `etcd-ts get`: a key, a range or a prefix. */
export const get: Command = {
  name: "get",
  summary: "Read a key, a range [key, range_end), a prefix or every key from a key on",
  usage: "<key> [range_end]",
  args: { min: 1, max: 2 },
  etcdctlJson: true,
  options: {
    ...RANGE_OPTIONS,
    limit: { type: "string", value: "<n>", description: "at most n keys (0: no limit)" },
    rev: { type: "string", value: "<revision>", description: "read the store as it was at this revision" },
    "keys-only": { type: "boolean", description: "keys without their values" },
    "count-only": { type: "boolean", description: "only the number of keys" },
    "print-value-only": { type: "boolean", description: "only the values, one per line (etcdctl's flag)" },
  },
  details:
    "Prints each key on a line and its value on the next (etcdctl's format); nothing when no key matches.\n" +
    "With --print-value-only: only the values. With --json: one document { revision, count, more, kvs:\n" +
    "[{ key, value, createRevision, modRevision, version, lease }] }, where keys and values that are not\n" +
    "UTF-8 come as keyBase64 / valueBase64.",
  examples: [
    "etcd-ts get greeting",
    "etcd-ts get --prefix config/ --keys-only",
    "etcd-ts get --from-key a --limit 10 --json",
    "etcd-ts get greeting --rev 42",
    "etcd-ts get greeting --print-value-only",
    "etcd-ts get config/ --prefix -w json",
  ],
  async run(ctx) {
    const limit = ctx.string("limit");
    const rev = ctx.string("rev");
    const result = await ctx.etcd().range(keyRangeOf(ctx), {
      limit: limit === undefined ? 0n : parseInteger(limit, "--limit"),
      revision: rev === undefined ? 0n : parseInteger(rev, "--rev", 1),
      keysOnly: ctx.flag("keys-only"),
      countOnly: ctx.flag("count-only"),
      signal: ctx.signal,
    });
    if (ctx.out.etcdctlJson) ctx.out.etcdctlDocument(rangeJson(ctx.headers.latest, result));
    else if (ctx.out.json) {
      const { revision, count, more, kvs } = result;
      ctx.out.document({ revision, count, more, kvs });
    } else if (ctx.flag("count-only")) ctx.out.line(result.count.toString());
    else
      for (const kv of result.kvs) {
        if (!ctx.flag("print-value-only")) ctx.out.line(kv.keyText());
        if (!ctx.flag("keys-only")) ctx.out.line(kv.text());
      }
    return 0;
  },
};
