import { Etcd } from "../../src/client/etcd.js";
import type { EtcdOptions } from "../../src/client/options.js";
import type { Discovery, InstanceChange } from "../../src/discovery/index.js";

/** Short timeouts, so faults show up quickly in tests. */
export const CLIENT_OPTIONS = {
  timeoutMs: 3000,
  endpointCooldownMs: 200,
  keepaliveIntervalMs: 1000,
  keepaliveTimeoutMs: 1000,
} satisfies Partial<EtcdOptions>;

/** A client with {@link CLIENT_OPTIONS}. */
export function client(endpoint: string | string[]): Etcd {
  return new Etcd({ endpoints: endpoint, ...CLIENT_OPTIONS });
}

export { until } from "../support/wait.js";

/**
 * Rebuilds a view from a discovery's change events alone and records every inconsistency: an `added`
 * for a key already there (a duplicate), a `removed` or `updated` for a key not there (a gap).
 */
export class ChangeLedger {
  readonly view = new Map<string, unknown>();
  readonly problems: string[] = [];
  changes = 0;

  constructor(discovery: Discovery) {
    discovery.on("changes", (changes) => this.apply(changes));
  }

  apply(changes: readonly InstanceChange[]): void {
    for (const c of changes) {
      this.changes++;
      const had = this.view.has(c.key);
      if (c.type === "added") {
        if (had) this.problems.push(`duplicate add of ${c.key}`);
        this.view.set(c.key, c.instance);
      } else if (c.type === "updated") {
        if (!had) this.problems.push(`update of unknown ${c.key}`);
        this.view.set(c.key, c.instance);
      } else {
        if (!had) this.problems.push(`remove of unknown ${c.key}`);
        this.view.delete(c.key);
      }
    }
  }
}
