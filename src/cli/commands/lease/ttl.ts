import type { Command } from "../../command.js";
import { leaseTimeToLiveJson } from "../../etcdctl-json.js";
import { leaseHex, parseHexId } from "../../ids.js";

const decoder = new TextDecoder();

/** `etcd-ts lease ttl <id>` (etcdctl's `lease timetolive`). */
export const leaseTtl: Command = {
  name: "ttl",
  aliases: ["timetolive"],
  summary: "Show a lease's remaining and granted TTL (and with --keys its keys)",
  usage: "<id>",
  args: { min: 1, max: 1 },
  etcdctlJson: true,
  options: { keys: { type: "boolean", description: "list the keys attached to it" } },
  details:
    "Prints 'lease <id> granted with TTL(<n>s), remaining(<n>s)', with --keys ', attached keys([a b])';\n" +
    "'lease <id> already expired' when it is gone. With --json: { id, idHex, ttl, grantedTtl, keys? }\n" +
    "(ttl -1 when it is gone).",
  examples: [
    "etcd-ts lease ttl 694d7b5f2a3b8c0a --keys",
    "etcd-ts lease timetolive 694d7b5f2a3b8c0a -w json",
  ],
  async run(ctx) {
    const id = parseHexId(ctx.args[0]!, "<id>");
    const withKeys = ctx.flag("keys");
    const r = await ctx.etcd().lease.timeToLive(id, { keys: withKeys, signal: ctx.signal });
    const keys = r.keys.map((k) => decoder.decode(k));
    if (ctx.out.etcdctlJson) ctx.out.etcdctlDocument(leaseTimeToLiveJson(ctx.headers.latest, id, r));
    else if (ctx.out.json)
      ctx.out.document({
        id,
        idHex: leaseHex(id),
        ttl: r.ttl,
        grantedTtl: r.grantedTtl,
        ...(withKeys ? { keys } : {}),
      });
    else if (r.ttl < 0) ctx.out.line(`lease ${leaseHex(id)} already expired`);
    else {
      const attached = withKeys ? `, attached keys([${keys.join(" ")}])` : "";
      ctx.out.line(
        `lease ${leaseHex(id)} granted with TTL(${r.grantedTtl}s), remaining(${r.ttl}s)${attached}`,
      );
    }
    return 0;
  },
};
