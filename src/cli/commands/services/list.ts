import type { Command } from "../../command.js";
import { instanceJson, openDiscovery, SERVICE_OPTIONS } from "./view.js";

/** `etcd-ts services list <service>`. */
export const servicesList: Command = {
  name: "list",
  summary: "List a service's registered instances (discovery's view)",
  usage: "<service>",
  args: { min: 1, max: 1 },
  options: SERVICE_OPTIONS,
  details:
    "Reads <service>'s instances in the layout of etcd's Go naming/endpoints (what register() writes and\n" +
    "a Go etcd:/// resolver reads) and prints a table: ADDR, WEIGHT, DRAINING, VERSION, ZONE, METADATA\n" +
    "(the etcdts field's values, or the Go defaults for entries written by Go). With --json:\n" +
    "[{ key, service, addr, metadata, weight, draining, version?, zone? }].",
  examples: ["etcd-ts services list greeter", "etcd-ts services list greeter --key-prefix services/ --json"],
  async run(ctx) {
    const discovery = await openDiscovery(ctx, ctx.etcd(), ctx.args[0]!);
    const entries = [...discovery.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    await discovery.close();
    if (ctx.out.json) ctx.out.document(entries.map(([key, i]) => instanceJson(key, i)));
    else
      ctx.out.table(
        ["addr", "weight", "draining", "version", "zone", "metadata"],
        entries.map(([, i]) => [
          i.addr,
          String(i.weight),
          String(i.draining),
          i.version ?? "",
          i.zone ?? "",
          JSON.stringify(i.metadata),
        ]),
      );
    return 0;
  },
};
