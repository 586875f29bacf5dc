import { EtcdError, LeaseLostError } from "../../../client/index.js";
import type { Command, CommandContext } from "../../command.js";
import { leaseKeepAliveJson } from "../../etcdctl-json.js";
import { leaseHex, parseHexId } from "../../ids.js";

/** A lost lease in the words of the other lease commands: its ID in hexadecimal. */
function inHex(err: unknown, id: bigint): unknown {
  if (!(err instanceof LeaseLostError)) return err;
  const why = err.reason === "expired" ? "expired or was revoked" : "was lost: no refresh succeeded in time";
  return new EtcdError(`lease ${leaseHex(id)} ${why}`, { code: err.code, cause: err });
}

async function keepAlive(ctx: CommandContext, id: bigint, print: (ttl: number) => void): Promise<void> {
  if (ctx.flag("once")) {
    print(await ctx.etcd().lease.keepAliveOnce(id, { signal: ctx.signal }));
    return;
  }
  const lease = await ctx.etcd().lease.keepAlive(id, { signal: ctx.signal });
  const stop = () => lease.close();
  ctx.signal.addEventListener("abort", stop, { once: true });
  if (ctx.signal.aborted) stop();
  try {
    // keepAlive's own first refresh already told the TTL.
    print(lease.ttl);
    for await (const refresh of lease) print(refresh.ttl);
  } finally {
    ctx.signal.removeEventListener("abort", stop);
  }
}

/** `etcd-ts lease keep-alive <id>`. */
export const leaseKeepAlive: Command = {
  name: "keep-alive",
  summary: "Keep a lease alive until Ctrl-C, printing each refresh (--once: one refresh)",
  usage: "<id>",
  args: { min: 1, max: 1 },
  etcdctlJson: true,
  options: { once: { type: "boolean", description: "refresh once and exit" } },
  details:
    "Prints 'lease <id> keepalived with TTL(<n>s)' per refresh; with --json one line per refresh,\n" +
    "{ id, idHex, ttl }. SIGINT or SIGTERM stop the refreshes (the lease is not revoked: it expires after\n" +
    "its TTL) with exit code 0; a lease that expired or was revoked exits with 1.",
  examples: ["etcd-ts lease keep-alive 694d7b5f2a3b8c0a", "etcd-ts lease keep-alive 694d7b5f2a3b8c0a --once"],
  async run(ctx) {
    const id = parseHexId(ctx.args[0]!, "<id>");
    const print = (ttl: number) => {
      if (ctx.out.etcdctlJson) ctx.out.etcdctlDocument(leaseKeepAliveJson(ctx.headers.latest, id, ttl));
      else if (ctx.out.json) ctx.out.document({ id, idHex: leaseHex(id), ttl });
      else ctx.out.line(`lease ${leaseHex(id)} keepalived with TTL(${ttl}s)`);
    };
    try {
      await keepAlive(ctx, id, print);
    } catch (err) {
      throw inHex(err, id);
    }
    return 0;
  },
};
