import { Election, type KeyValue } from "../../client/index.js";
import { bestEffort } from "../best-effort.js";
import type { Command, CommandContext } from "../command.js";
import { SESSION_OPTIONS, withSession } from "../session.js";
import { untilStopped } from "../until-stopped.js";
import { UsageError } from "../usage-error.js";

function printLeader(ctx: CommandContext, name: string, kv: KeyValue): void {
  if (ctx.out.json) ctx.out.document({ name, kv });
  else ctx.out.line(`${kv.keyText()}\n${kv.text()}`);
}

/** `etcd-ts elect <name> <proposal>` and `etcd-ts elect --listen <name>`. */
export const elect: Command = {
  name: "elect",
  summary: "Campaign in an election and lead until Ctrl-C (--listen: print each leader)",
  usage: "<name> [proposal]",
  args: { min: 1, max: 2 },
  options: {
    listen: {
      type: "boolean",
      short: "l",
      description: "do not campaign: print the leader now and at each change",
    },
    ...SESSION_OPTIONS,
  },
  details:
    "The election of Go's concurrency package (key <name>/<lease id>, the oldest key leads), so etcdctl\n" +
    "and Go programs take part in the same election. With <proposal>: waits until elected, prints the\n" +
    "leader key and the proposal on the next line (with --json { name, kv }), leads until SIGINT or\n" +
    "SIGTERM, then resigns (exit 0); leadership lost meanwhile (the lease expired) exits with 1.\n" +
    "With --listen: prints the leader's key and value now and whenever it changes, until Ctrl-C.",
  examples: ["etcd-ts elect scheduler node-a", "etcd-ts elect --listen scheduler --json"],
  async run(ctx) {
    const [name, proposal] = ctx.args as [string, string | undefined];
    const listen = ctx.flag("listen");
    if (listen === (proposal !== undefined))
      throw new UsageError(
        "elect: give a <proposal> to campaign, or --listen to watch the leader (not both)",
      );
    return withSession(ctx, async (session) => {
      const election = new Election(session, name);
      if (proposal === undefined) {
        try {
          for await (const kv of election.observe({ signal: ctx.signal })) printLeader(ctx, name, kv);
        } catch (err) {
          // Stopped by SIGINT / SIGTERM in the middle of a read: the normal end of --listen.
          if (!ctx.signal.aborted) throw err;
        }
        return 0;
      }
      await election.campaign(proposal, { signal: ctx.signal });
      try {
        // Not on ctx.signal: a Ctrl-C now must still lead to a clean resign, not to "interrupted".
        const leader = await election.leader();
        if (leader) printLeader(ctx, name, leader);
        await untilStopped(ctx.signal, election.closed);
        return 0;
      } finally {
        await bestEffort(ctx.out, "resign", () => election.resign());
      }
    });
  },
};
