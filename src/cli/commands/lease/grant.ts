import type { Command } from "../../command.js";
import { leaseGrantJson } from "../../etcdctl-json.js";
import { leaseHex, parseInteger } from "../../ids.js";

/** `etcd-ts lease grant <ttl>`. */
export const leaseGrant: Command = {
  name: "grant",
  summary: "Grant a lease of <ttl> seconds (not kept alive: see lease keep-alive)",
  usage: "<ttl>",
  args: { min: 1, max: 1 },
  etcdctlJson: true,
  details: "Prints 'lease <id> granted with TTL(<n>s)'; with --json { id, idHex, ttl }.",
  examples: [
    "etcd-ts lease grant 60",
    "etcd-ts put job/1 running --lease $(etcd-ts lease grant 30 --json | jq -r .idHex)",
  ],
  async run(ctx) {
    const ttl = Number(parseInteger(ctx.args[0]!, "<ttl>", 1));
    const lease = await ctx.etcd().lease.grant(ttl, { keepAlive: false, signal: ctx.signal });
    if (ctx.out.etcdctlJson)
      ctx.out.etcdctlDocument(leaseGrantJson(ctx.headers.latest, lease.id, lease.grantedTtl));
    else if (ctx.out.json)
      ctx.out.document({ id: lease.id, idHex: leaseHex(lease.id), ttl: lease.grantedTtl });
    else ctx.out.line(`lease ${leaseHex(lease.id)} granted with TTL(${lease.grantedTtl}s)`);
    return 0;
  },
};
