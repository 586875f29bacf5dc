import type { InstanceChange } from "../../../discovery/index.js";
import type { Command, CommandContext } from "../../command.js";
import { untilStopped } from "../../until-stopped.js";
import { describeInstance, instanceJson, openDiscovery, SERVICE_OPTIONS } from "./view.js";

function printChange(ctx: CommandContext, change: InstanceChange, revision: bigint): void {
  if (ctx.out.json)
    ctx.out.document({
      type: change.type,
      revision,
      instance: instanceJson(change.key, change.instance),
      ...(change.type === "updated" ? { previous: instanceJson(change.key, change.previous) } : {}),
    });
  else if (change.type === "removed") ctx.out.line(`removed ${change.instance.addr}`);
  else ctx.out.line(`${change.type} ${describeInstance(change.instance)}`);
}

/** `etcd-ts services watch <service>`. */
export const servicesWatch: Command = {
  name: "watch",
  summary: "Print a service's instances as they come, change and go, until Ctrl-C",
  usage: "<service>",
  args: { min: 1, max: 1 },
  options: SERVICE_OPTIONS,
  details:
    "Prints the instances registered now as 'added', then one line per change: 'added <addr> weight=..\n" +
    "draining=.. [version=..] [zone=..] metadata=..', 'updated <addr> ...' (e.g. draining=true after\n" +
    "drain()), 'removed <addr>'. With --json: one line per change, { type, revision, instance, previous? }.\n" +
    "Follows through reconnects and compactions without missing a change; a failure while following is\n" +
    "noted on stderr and retried. SIGINT or SIGTERM end it with exit code 0.",
  examples: ["etcd-ts services watch greeter", "etcd-ts services watch greeter --json"],
  async run(ctx) {
    // Listening before the first read: the instances registered now arrive as the first changes.
    const discovery = await openDiscovery(ctx, ctx.etcd(), ctx.args[0]!, (d) =>
      d.on("changes", (changes, revision) => {
        for (const change of changes) printChange(ctx, change, revision);
      }),
    );
    discovery.on("unavailable", (err) => ctx.out.note(`etcd-ts: services watch: ${err.message} (retrying)`));
    await untilStopped(ctx.signal);
    await discovery.close();
    return 0;
  },
};
