import { Etcd, PermissionDeniedError, toEtcdError } from "../../../client/index.js";
import type { Command, CommandContext } from "../../command.js";
import { endpointHealthJson } from "../../etcdctl-json.js";
import { CLUSTER_OPTION, targetEndpoints } from "./targets.js";

/** One endpoint's health, as `--json` prints it. */
interface Health {
  endpoint: string;
  health: boolean;
  /** How long the check's read took, in ms. */
  tookMs: number;
  error?: string | undefined;
}

/**
 * etcdctl's check: a linearizable read of the key `health` (a quorum round; "permission denied" counts
 * as healthy, the round happened), then no active alarm. Its own client, so that it asks this endpoint only.
 */
async function checkEndpoint(ctx: CommandContext, endpoint: string): Promise<Health> {
  const etcd = new Etcd({ ...ctx.clientOptions(), endpoints: [endpoint] });
  const started = performance.now();
  const tookMs = () => Math.round((performance.now() - started) * 10) / 10;
  try {
    try {
      await etcd.get("health", { signal: ctx.signal });
    } catch (err) {
      if (!(err instanceof PermissionDeniedError)) throw err;
    }
    const took = tookMs();
    const alarms = await etcd.maintenance.alarms({ signal: ctx.signal });
    if (alarms.length > 0)
      return {
        endpoint,
        health: false,
        tookMs: took,
        error: `active alarm(s): ${alarms.map((a) => a.alarm).join(", ")}`,
      };
    return { endpoint, health: true, tookMs: took };
  } catch (err) {
    return { endpoint, health: false, tookMs: tookMs(), error: toEtcdError(err).serverMessage };
  } finally {
    await etcd.close();
  }
}

/** `etcd-ts endpoint health`. */
export const endpointHealth: Command = {
  name: "health",
  summary: "Check each endpoint: a quorum read, and no active alarm",
  usage: "",
  args: { min: 0, max: 0 },
  options: CLUSTER_OPTION,
  etcdctlJson: true,
  details:
    "A table with a row per endpoint: ENDPOINT, HEALTH (true/false), TOOK (the read's time), ERROR.\n" +
    "Exit code 1 when any endpoint is unhealthy. With --json: [{ endpoint, health, tookMs, error? }].",
  examples: ["etcd-ts endpoint health --cluster", "etcd-ts endpoint health --json"],
  async run(ctx) {
    const endpoints = await targetEndpoints(ctx);
    const results = await Promise.all(endpoints.map((endpoint) => checkEndpoint(ctx, endpoint)));
    if (ctx.out.etcdctlJson) ctx.out.etcdctlDocument(results.map(endpointHealthJson));
    else if (ctx.out.json) ctx.out.document(results);
    else
      ctx.out.table(
        ["endpoint", "health", "took", "error"],
        results.map((r) => [r.endpoint, String(r.health), `${r.tookMs}ms`, r.error ?? ""]),
      );
    return results.every((r) => r.health) ? 0 : 1;
  },
};
