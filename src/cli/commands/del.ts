import type { Command } from "../command.js";
import { deleteJson } from "../etcdctl-json.js";
import { keyRangeOf, RANGE_OPTIONS } from "../key-range.js";

/** `etcd-ts del`: deletes a key, a range or a prefix. */
export const del: Command = {
  name: "del",
  summary: "Delete a key, a range [key, range_end), a prefix or every key from a key on",
  usage: "<key> [range_end]",
  args: { min: 1, max: 2 },
  etcdctlJson: true,
  options: {
    ...RANGE_OPTIONS,
    "prev-kv": { type: "boolean", description: "print the deleted key-values" },
  },
  details:
    "Prints how many keys were deleted (then, with --prev-kv, each deleted key and value).\n" +
    "With --json: { revision, deleted, prevKvs }.",
  examples: ["etcd-ts del greeting", "etcd-ts del --prefix jobs/ --prev-kv"],
  async run(ctx) {
    const result = await ctx
      .etcd()
      .delete(keyRangeOf(ctx), { prevKv: ctx.flag("prev-kv"), signal: ctx.signal });
    if (ctx.out.etcdctlJson) ctx.out.etcdctlDocument(deleteJson(ctx.headers.latest, result));
    else if (ctx.out.json) {
      const { revision, deleted, prevKvs } = result;
      ctx.out.document({ revision, deleted, prevKvs });
    } else {
      ctx.out.line(result.deleted.toString());
      for (const kv of result.prevKvs) ctx.out.line(`${kv.keyText()}\n${kv.text()}`);
    }
    return 0;
  },
};
