import type { Command } from "../../command.js";
import { leaseRevokeJson } from "../../etcdctl-json.js";
import { leaseHex, parseHexId } from "../../ids.js";

/** `etcd-ts lease revoke <id>`. */
export const leaseRevoke: Command = {
  name: "revoke",
  summary: "Revoke a lease: every key attached to it is deleted",
  usage: "<id>",
  args: { min: 1, max: 1 },
  etcdctlJson: true,
  details: "Prints 'lease <id> revoked'; with --json { id, idHex, revoked: true }.",
  examples: ["etcd-ts lease revoke 694d7b5f2a3b8c0a"],
  async run(ctx) {
    const id = parseHexId(ctx.args[0]!, "<id>");
    await ctx.etcd().lease.revoke(id, { signal: ctx.signal });
    if (ctx.out.etcdctlJson) ctx.out.etcdctlDocument(leaseRevokeJson(ctx.headers.latest));
    else if (ctx.out.json) ctx.out.document({ id, idHex: leaseHex(id), revoked: true });
    else ctx.out.line(`lease ${leaseHex(id)} revoked`);
    return 0;
  },
};
