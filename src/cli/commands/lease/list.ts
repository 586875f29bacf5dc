import type { Command } from "../../command.js";
import { leasesJson } from "../../etcdctl-json.js";
import { leaseHex } from "../../ids.js";

/** `etcd-ts lease list`. */
export const leaseList: Command = {
  name: "list",
  summary: "List every lease of the cluster",
  usage: "",
  args: { min: 0, max: 0 },
  etcdctlJson: true,
  details:
    "A table of IDs (hexadecimal, as the other lease commands take them, and decimal).\nWith --json: [{ id, idHex }].",
  examples: ["etcd-ts lease list"],
  async run(ctx) {
    const ids = await ctx.etcd().lease.leases({ signal: ctx.signal });
    if (ctx.out.etcdctlJson) ctx.out.etcdctlDocument(leasesJson(ctx.headers.latest, ids));
    else if (ctx.out.json) ctx.out.document(ids.map((id) => ({ id, idHex: leaseHex(id) })));
    else
      ctx.out.table(
        ["id", "decimal"],
        ids.map((id) => [leaseHex(id), id.toString()]),
      );
    return 0;
  },
};
