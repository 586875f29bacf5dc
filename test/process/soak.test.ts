import { afterEach, describe, expect, it } from "vitest";
import { SOAK_KINDS } from "../fixtures/soak-kinds.js";
import { Child, type ChildEvent, fixturePath } from "../support/child.js";
import { compiled } from "../support/compiled.js";
import { serverWatchers } from "../support/server-metrics.js";
import { until } from "../support/wait.js";
import { type ProcessCluster, sleep, startProcessCluster } from "./support.js";

const PREFIX = "soak/";
/** The long form (`npm run test:faults`, `ETCD_TS_FAULTS=long`) churns for ten minutes. */
const CHURN_MS = process.env.ETCD_TS_FAULTS === "long" ? 600_000 : 20_000;
const KEEP_WATCHES = 5;

describe.each([
  { auth: false, name: "auth off" },
  { auth: true, name: "auth on, tokens expiring" },
])("a long-lived client under churn and connection cuts ($name)", ({ auth }) => {
  let pc: ProcessCluster | undefined;
  let child: Child | undefined;

  afterEach(async () => {
    await child?.kill();
    child = undefined;
    await pc?.close();
    pc = undefined;
  });

  it(
    "releases every closed watch, lease, cache, registration, discovery, lock, mirror, leasing KV, recipe, observation and balanced transport, and etcd's watcher count returns to the open watches",
    async () => {
      pc = await startProcessCluster({ auth, prefix: PREFIX, permission: "readwrite" });
      const { proxy, cluster } = pc;
      const config = {
        endpoint: proxy.url,
        auth: pc.childAuth,
        churnMs: CHURN_MS,
        sampleEveryMs: 5_000,
        keepWatches: KEEP_WATCHES,
        prefix: PREFIX,
      };
      const c = Child.spawn("soak.ts", process.execPath, [
        "--expose-gc",
        compiled(fixturePath("soak.ts")),
        JSON.stringify(config),
      ]);
      child = c;
      await c.waitFor("the first sample", (e) => e.type === "sample");

      // Cuts every 2 to 4 s while the child churns: whatever state each object is in when one lands.
      let cuts = 0;
      const churned = c.waitFor("the churn's end", (e) => e.type === "churned", {
        timeoutMs: CHURN_MS + 120_000,
      });
      let done = false;
      void churned.finally(() => {
        done = true;
      });
      while (!done) {
        await Promise.race([churned.catch(() => {}), sleep(2_000 + Math.random() * 2_000)]);
        if (done) break;
        proxy.cut();
        cuts++;
      }
      const end = await churned;
      const opened = end.opened as Record<string, number>;
      expect(cuts).toBeGreaterThan(0);
      // The churn really churned every kind (else the counts below would prove nothing).
      for (const kind of SOAK_KINDS) expect(opened[kind], kind).toBeGreaterThan(KEEP_WATCHES);
      expect(end.live, describeCounts(end)).toEqual(end.open);
      expect(end.released).toBe(true);
      // The balanced transports' health `Watch` streams, as the child's own servers count them: all closed.
      expect(end.healthWatches).toBe(0);

      // etcd's own count: the open watches, nothing left behind by closed ones.
      await until(
        `etcd's watcher count to come back to ${KEEP_WATCHES}`,
        async () => (await serverWatchers(cluster.endpoint)) === KEEP_WATCHES,
        30_000,
      );

      c.signal("SIGUSR2");
      const closed = await c.waitFor("every object closed", (e) => e.type === "closed", {
        timeoutMs: 60_000,
      });
      expect(closed.released, describeCounts(closed)).toBe(true);
      await until(
        "etcd's watcher count to reach 0",
        async () => (await serverWatchers(cluster.endpoint)) === 0,
        30_000,
      );
      const exit = await c.waitForExit("the child's exit after close()", 30_000);
      expect(exit.code, c.stderrTail()).toBe(0);
    },
    CHURN_MS + 300_000,
  );
});

function describeCounts(e: ChildEvent): string {
  return `live ${JSON.stringify(e.live)}, opened ${JSON.stringify(e.opened)}, health watches ${e.healthWatches}`;
}
