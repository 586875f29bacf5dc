import type { Etcd } from "../../../client/index.js";
import {
  type Discovery,
  discover,
  goEndpointsCodec,
  type ServiceInstance,
} from "../../../discovery/index.js";
import type { CommandContext, OptionSpecs } from "../../command.js";

/** `--key-prefix`, for services registered under a prefix (`goEndpointsCodec({ keyPrefix })`). */
export const SERVICE_OPTIONS: OptionSpecs = {
  "key-prefix": {
    type: "string",
    value: "<prefix>",
    description: "the prefix the services are registered under, e.g. services/ (default none)",
  },
};

/** An instance as `--json` prints it: its etcd key, then every decoded field. */
export function instanceJson(key: string, instance: ServiceInstance): Record<string, unknown> {
  return { key, ...instance };
}

/** `addr weight=1 draining=false version=v2 zone=a metadata={...}`: one line per instance. */
export function describeInstance(i: ServiceInstance): string {
  const labels = [
    `weight=${i.weight}`,
    `draining=${i.draining}`,
    ...(i.version !== undefined ? [`version=${i.version}`] : []),
    ...(i.zone !== undefined ? [`zone=${i.zone}`] : []),
    `metadata=${JSON.stringify(i.metadata)}`,
  ];
  return `${i.addr} ${labels.join(" ")}`;
}

/**
 * Starts a discovery of `service` (warnings about unreadable entries go to stderr), lets `setup` add
 * listeners before its first read, and waits until it read the instances; a failure before that (etcd
 * unreachable, permission denied) rejects.
 */
export async function openDiscovery(
  ctx: CommandContext,
  etcd: Etcd,
  service: string,
  setup?: (discovery: Discovery) => void,
): Promise<Discovery> {
  const keyPrefix = ctx.string("key-prefix") ?? "";
  const discovery = discover(etcd, service, { codec: goEndpointsCodec({ keyPrefix }), signal: ctx.signal });
  setup?.(discovery);
  discovery.on("warning", (w) => ctx.out.note(`etcd-ts: skipped ${w.key}: ${w.reason}`));
  let onUnavailable: ((err: Error) => void) | undefined;
  const failed = new Promise<never>((_, reject) => {
    onUnavailable = reject;
    discovery.once("unavailable", reject);
  });
  failed.catch(() => {});
  try {
    await Promise.race([discovery.ready, failed]);
    return discovery;
  } catch (err) {
    await discovery.close();
    throw err;
  } finally {
    discovery.off("unavailable", onUnavailable!);
  }
}
