import type { Etcd, MemberInfo } from "../../../client/index.js";
import type { Command } from "../../command.js";
import { memberListJson } from "../../etcdctl-json.js";
import { hexId, parseHexId } from "../../ids.js";
import { memberJson } from "./list.js";

/** A membership change by member ID: `remove` and `promote` differ only in the call and the words. */
function memberChange(spec: {
  name: "remove" | "promote";
  summary: string;
  /** Past tense for the output, e.g. `removed from`. */
  done: string;
  call: (etcd: Etcd, id: bigint, signal: AbortSignal) => Promise<MemberInfo[]>;
}): Command {
  const key = spec.name === "remove" ? "removed" : "promoted";
  return {
    name: spec.name,
    summary: spec.summary,
    usage: "<id>",
    args: { min: 1, max: 1 },
    etcdctlJson: true,
    details: `Prints 'Member <id> ${spec.done} cluster'; with --json { ${key}: { id, idHex }, members }.`,
    examples: [`etcd-ts member ${spec.name} 8e9e05c52164694d`],
    async run(ctx) {
      const id = parseHexId(ctx.args[0]!, "<id>");
      const members = await spec.call(ctx.etcd(), id, ctx.signal);
      if (ctx.out.etcdctlJson) ctx.out.etcdctlDocument(memberListJson(ctx.headers.latest, members));
      else if (ctx.out.json)
        ctx.out.document({ [key]: { id, idHex: hexId(id) }, members: members.map(memberJson) });
      else ctx.out.line(`Member ${hexId(id)} ${spec.done} cluster`);
      return 0;
    },
  };
}

/** `etcd-ts member remove <id>`. */
export const memberRemove = memberChange({
  name: "remove",
  summary: "Remove a member (it shuts itself down)",
  done: "removed from",
  call: (etcd, id, signal) => etcd.cluster.remove(id, { signal }),
});

/** `etcd-ts member promote <id>`. */
export const memberPromote = memberChange({
  name: "promote",
  summary: "Promote a learner to a voting member (refused until it caught up)",
  done: "promoted in",
  call: (etcd, id, signal) => etcd.cluster.promote(id, { signal }),
});
