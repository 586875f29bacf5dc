import type { CommandContext, OptionSpecs } from "../../command.js";

/** `--cluster`, as etcdctl's `endpoint` commands take it. */
export const CLUSTER_OPTION: OptionSpecs = {
  cluster: {
    type: "boolean",
    description: "every member's client URLs from the member list, not only --endpoints",
  },
};

/**
 * The endpoints an `endpoint` command asks: the configured ones, or with `--cluster` every client URL
 * of every member (with the configured scheme), as etcdctl does.
 */
export async function targetEndpoints(ctx: CommandContext): Promise<string[]> {
  const etcd = ctx.etcd();
  if (!ctx.flag("cluster")) return etcd.endpoints;
  const scheme = etcd.endpoints[0]!.startsWith("https://") ? "https://" : "http://";
  const members = await etcd.cluster.list({ signal: ctx.signal });
  const urls = members.flatMap((m) => m.clientUrls).filter((u) => u.startsWith(scheme));
  return [...new Set(urls)];
}
