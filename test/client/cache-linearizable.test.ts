import { describe, expect, it } from "vitest";
import { ServerVersion } from "../../src/client/call/server-version.js";
import {
  AbortedError,
  type CacheChange,
  InvalidArgumentError,
  RangeCacheClosedError,
} from "../../src/client/index.js";
import { useEtcd } from "../support/etcd-fixture.js";
import { enableAuth } from "../support/etcdctl.js";
import { within } from "../support/wait.js";

describe("cache.get / cache.range with { linearizable: true }", () => {
  const fx = useEtcd();

  it("on a quiet range, waits until the cache has seen the cluster's revision (writes outside the range only)", async () => {
    const etcd = fx.client();
    const writer = fx.client();
    await writer.put("quiet/a", "1");
    const cache = etcd.cache({ prefix: "quiet/" });
    fx.cleanups.push(() => cache.close());
    await within(cache.ready, "the cache ready");
    const changes: CacheChange[] = [];
    cache.on("change", (c) => changes.push(c));
    const server = ServerVersion.parse((await etcd.status()).version)!;
    for (let round = 0; round < 3; round++) {
      // Only a write outside the range: nothing but a progress notice can move the cache's revision.
      const outside = await writer.put("elsewhere/x", String(round));
      expect(cache.range({ prefix: "quiet/" }).revision).toBeLessThan(outside.revision);
      const read = await within(
        cache.range({ prefix: "quiet/" }, { linearizable: true }),
        `the linearizable range of round ${round}`,
      );
      // As etcd.range() would answer now: at least the revision of every write acknowledged before.
      expect(read.revision).toBeGreaterThanOrEqual(outside.revision);
      expect(read.kvs.map((kv) => [kv.keyText(), kv.text()])).toEqual([["quiet/a", "1"]]);
      const kv = await within(
        cache.get("quiet/a", { linearizable: true }),
        `the linearizable get of round ${round}`,
      );
      expect(kv?.text()).toBe("1");
      if (server.has("syncedProgress")) {
        // etcd 3.4.24+, 3.5.8+, 3.6, 3.7: a complete progress notice moved the cache; the answer is its own.
        expect(cache.revision).toBeGreaterThanOrEqual(outside.revision);
        expect(read.revision).toBeLessThanOrEqual(cache.revision);
      } else {
        // etcd 3.4.23: the notice may overtake replayed events (issue 15220): etcd answered the read instead.
        expect(cache.revision).toBeLessThan(outside.revision);
      }
    }
    expect(changes).toEqual([]);
  });

  it("holds a write into the range acknowledged before the read, where a plain read may not yet", async () => {
    const etcd = fx.client();
    const writer = fx.client();
    const cache = etcd.cache({ prefix: "ryw/" });
    fx.cleanups.push(() => cache.close());
    await within(cache.ready, "the cache ready");
    for (let i = 0; i < 5; i++) {
      await writer.put("ryw/k", String(i));
      expect((await cache.get("ryw/k", { linearizable: true }))?.text()).toBe(String(i));
    }
  });

  it("waits for ready, and rejects on abort, bad options and a closed cache", async () => {
    const etcd = fx.client();
    await etcd.put("lin-edge/a", "1");
    const cache = etcd.cache({ prefix: "lin-edge/" });
    // Before ready a plain read throws; a linearizable one waits for the first read.
    expect(
      (await within(cache.get("lin-edge/a", { linearizable: true }), "the read before ready"))?.text(),
    ).toBe("1");
    const bad: [unknown, string][] = [
      [{}, "linearizable"],
      [{ linearizable: false }, "linearizable"],
      [{ linearizable: "yes" }, "linearizable"],
      [null, "options"],
    ];
    for (const [options, field] of bad) {
      expect(() => cache.get("lin-edge/a", options as { linearizable: true })).toThrow(InvalidArgumentError);
      expect(() => cache.get("lin-edge/a", options as { linearizable: true })).toThrow(field);
    }
    expect(() => cache.range({ prefix: "lin-edge/" }, { linearizable: "x" } as never)).toThrow(
      InvalidArgumentError,
    );
    expect(() => cache.get("other/a", { linearizable: true })).toThrow(InvalidArgumentError);
    await expect(
      cache.get("lin-edge/a", { linearizable: true, signal: AbortSignal.abort() }),
    ).rejects.toBeInstanceOf(AbortedError);
    await cache.close();
    await expect(cache.range({ prefix: "lin-edge/" }, { linearizable: true })).rejects.toBeInstanceOf(
      RangeCacheClosedError,
    );
  });
});

describe("linearizable cache reads with auth on", () => {
  const fx = useEtcd();

  it("need only the rights on the cached range", async () => {
    await enableAuth(fx.cluster.endpoints[0]!, {
      rootPassword: "rootpw",
      role: {
        name: "lin-reader",
        grants: [["read", "mine/"]],
        users: [{ username: "reader", password: "pw" }],
      },
    });
    const root = fx.client({ auth: { username: "root", password: "rootpw" } });
    await root.put("mine/a", "1");
    const reader = fx.client({ auth: { username: "reader", password: "pw" } });
    const cache = reader.cache({ prefix: "mine/" });
    fx.cleanups.push(() => cache.close());
    await within(cache.ready, "the cache ready");
    const outside = await root.put("theirs/x", "1");
    const read = await within(
      cache.range({ prefix: "mine/" }, { linearizable: true }),
      "the linearizable range",
    );
    expect(read.revision).toBeGreaterThanOrEqual(outside.revision);
    expect(read.kvs.map((kv) => kv.text())).toEqual(["1"]);
  });
});
