import type { InstanceChange } from "./discovery.js";
import { endpointOf } from "./endpoints.js";

/**
 * A view's changes as seen by a client of one protocol: an instance without an endpoint for `protocol` is
 * not there (it is `removed` when it loses that endpoint), and one whose endpoint address changes is
 * `removed` then `added`, so that no connection is kept to an old address. `current` gives a key's
 * endpoint address in the protocol's view now (undefined when it is not in it): the pool the changes go to.
 */
export function changesForProtocol(
  changes: readonly InstanceChange[],
  protocol: string,
  current: (key: string) => string | undefined,
): InstanceChange[] {
  const out: InstanceChange[] = [];
  /** Addresses as the changes so far leave them (null: gone), for batches that touch a key twice. */
  const after = new Map<string, string | null>();
  const addressOf = (key: string) => {
    const seen = after.get(key);
    return seen === undefined ? current(key) : (seen ?? undefined);
  };
  for (const c of changes) {
    const was = addressOf(c.key);
    const address = c.type === "removed" ? undefined : endpointOf(c.instance, protocol);
    after.set(c.key, address ?? null);
    if (address === undefined) {
      if (was !== undefined) out.push({ type: "removed", key: c.key, instance: c.instance });
    } else if (was === undefined) {
      out.push({ type: "added", key: c.key, instance: c.instance });
    } else if (was !== address) {
      out.push({ type: "removed", key: c.key, instance: c.instance });
      out.push({ type: "added", key: c.key, instance: c.instance });
    } else {
      out.push(c);
    }
  }
  return out;
}
