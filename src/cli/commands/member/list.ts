import type { MemberInfo } from "../../../client/index.js";
import type { Command } from "../../command.js";
import { memberListJson } from "../../etcdctl-json.js";
import { hexId } from "../../ids.js";

/** A member as `--json` prints it: IDs in decimal and hexadecimal. */
export function memberJson(m: MemberInfo): Record<string, unknown> {
  return { ...m, idHex: hexId(m.id) };
}

/** `etcd-ts member list`. */
export const memberList: Command = {
  name: "list",
  summary: "List the cluster's members",
  usage: "",
  args: { min: 0, max: 0 },
  etcdctlJson: true,
  details:
    "A table: ID (hexadecimal), STATUS (started, or unstarted for a member added but not yet running),\n" +
    "NAME, PEER URLS, CLIENT URLS, LEARNER. With --json: [{ id, idHex, name, peerUrls, clientUrls, isLearner }].",
  examples: ["etcd-ts member list", "etcd-ts member list --json"],
  async run(ctx) {
    const members = await ctx.etcd().cluster.list({ signal: ctx.signal });
    if (ctx.out.etcdctlJson) ctx.out.etcdctlDocument(memberListJson(ctx.headers.latest, members));
    else if (ctx.out.json) ctx.out.document(members.map(memberJson));
    else
      ctx.out.table(
        ["id", "status", "name", "peer urls", "client urls", "learner"],
        members.map((m) => [
          hexId(m.id),
          m.name === "" ? "unstarted" : "started",
          m.name,
          m.peerUrls.join(","),
          m.clientUrls.join(","),
          m.isLearner ? "true" : "false",
        ]),
      );
    return 0;
  },
};
