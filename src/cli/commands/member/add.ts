import { initialCluster } from "../../../client/index.js";
import type { Command } from "../../command.js";
import { memberAddJson } from "../../etcdctl-json.js";
import { hexId } from "../../ids.js";
import { UsageError } from "../../usage-error.js";
import { memberJson } from "./list.js";

/** `etcd-ts member add <name> --peer-urls <urls>`. */
export const memberAdd: Command = {
  name: "add",
  summary: "Add a member (or a learner) and print how to start it",
  usage: "<name>",
  args: { min: 1, max: 1 },
  etcdctlJson: true,
  options: {
    "peer-urls": {
      type: "string",
      value: "<urls>",
      description: "comma-separated peer URLs of the new member (required)",
    },
    learner: { type: "boolean", description: "add a non-voting learner (promote it once it caught up)" },
  },
  details:
    "Prints the new member's ID and the ETCD_NAME, ETCD_INITIAL_CLUSTER and ETCD_INITIAL_CLUSTER_STATE\n" +
    "it must start with, as etcdctl does. With --json: { member, members, initialCluster }.",
  examples: ["etcd-ts member add m4 --peer-urls http://10.0.0.4:2380 --learner"],
  async run(ctx) {
    const name = ctx.args[0]!;
    const urls = (ctx.string("peer-urls") ?? "").split(",").filter((u) => u !== "");
    if (urls.length === 0) throw new UsageError("member add: --peer-urls is required");
    const { member, members } = await ctx
      .etcd()
      .cluster.add(urls, { learner: ctx.flag("learner"), signal: ctx.signal });
    const cluster = initialCluster(members, member.id, name);
    if (ctx.out.etcdctlJson) ctx.out.etcdctlDocument(memberAddJson(ctx.headers.latest, member, members));
    else if (ctx.out.json)
      ctx.out.document({
        member: memberJson(member),
        members: members.map(memberJson),
        initialCluster: cluster,
      });
    else
      ctx.out.line(
        [
          `Member ${hexId(member.id)} added to cluster${member.isLearner ? " as a learner" : ""}`,
          "",
          `ETCD_NAME="${name}"`,
          `ETCD_INITIAL_CLUSTER="${cluster}"`,
          `ETCD_INITIAL_ADVERTISE_PEER_URLS="${member.peerUrls.join(",")}"`,
          `ETCD_INITIAL_CLUSTER_STATE="existing"`,
        ].join("\n"),
      );
    return 0;
  },
};
