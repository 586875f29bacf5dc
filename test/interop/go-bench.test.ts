// The benchmark's Go client (bench/go, etcd's go.etcd.io/etcd/client/v3) through the driver bench/run.ts and
// bench/watch.ts use (bench/clients/go.ts), one short round of each case of `npm run bench` against a real
// etcd: what Go reports it did must be what etcd holds afterwards. No figure is asserted (they are the
// benchmark's to print); only that the operations happened and the answers parse.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildGoBench, GoBenchClient } from "../../bench/clients/go.js";
import {
  putPrefix,
  putSpread,
  rangeKey,
  type Scenario,
  scenarios,
  txnKeys,
  value,
} from "../../bench/kv-scenarios.js";
import type { Measurement } from "../../bench/measure.js";
import type { Etcd } from "../../src/index.js";
import { useEtcd } from "../support/etcd-fixture.js";

const env = useEtcd();
let etcd: Etcd;
let go: GoBenchClient;
let binary: string;

beforeAll(async () => {
  const built = await buildGoBench();
  if ("missing" in built) throw new Error(built.missing); // the test needs Go, as test/interop does
  binary = built.binary;
  etcd = env.client();
  go = await GoBenchClient.start(binary, env.cluster.endpoint);
}, 15 * 60_000); // a cold `go build` on a busy 2-core machine; cached afterwards
afterAll(async () => {
  await go?.close();
});

/** A short window, long enough that a loaded machine still starts the calls in it. */
const round = { durationMs: 1000, warmupMs: 0 };

function scenario(name: string): Scenario {
  const s = scenarios.find((x) => x.name === name);
  if (!s) throw new Error(`no scenario ${name} in bench/kv-scenarios.ts`);
  return s;
}

async function revision(): Promise<bigint> {
  return (await etcd.range(rangeKey)).revision;
}

/** Every figure parsed into a number, none negative, and the calls all succeeded. */
function expectWellFormed(m: Measurement): void {
  for (const figure of [m.ops, m.opsPerSec, m.cpuUsPerOp, m.elapsedMs, m.p50Us]) {
    expect(typeof figure).toBe("number");
    expect(figure).toBeGreaterThanOrEqual(0);
  }
  expect(m.errors).toBe(0);
  expect(m.ops).toBeGreaterThan(0);
  expect(m.p50Us).toBeGreaterThan(0);
}

describe("the benchmark's Go client (bench/go) through bench/clients/go.ts", () => {
  it("reports the client/v3 version its go.mod pins", () => {
    expect(go.goClient).toBe("v3.7.4");
  });

  it.each(["put64", "put1"])(
    "%s: every put Go counted is a revision in etcd, on the bench's keys",
    async (name) => {
      const s = scenario(name);
      const before = await revision();
      const m = await go.round(s.go, { ...round, concurrency: s.concurrency });
      expectWellFormed(m);
      // Each successful put is one revision, and nothing else writes to this etcd.
      expect(await revision()).toBe(before + BigInt(m.ops));
      const kv = await etcd.get(`${putPrefix}0`);
      expect(kv?.value).toEqual(value);
      const written = await etcd.range({ prefix: putPrefix }, { countOnly: true });
      expect(Number(written.count)).toBeGreaterThanOrEqual(Math.min(m.ops, putSpread));
    },
  );

  it.each(["range64", "range1"])("%s: reads the bench's key and writes nothing", async (name) => {
    await etcd.put(rangeKey, value);
    const s = scenario(name);
    const before = await revision();
    const m = await go.round(s.go, { ...round, concurrency: s.concurrency });
    expectWellFormed(m);
    expect(await revision()).toBe(before);
  });

  it("txn10: every txn Go counted put the ten keys once", async () => {
    const s = scenario("txn10");
    const before = await revision();
    const versionBefore = (await etcd.get(txnKeys[0]!))?.version ?? 0n;
    const m = await go.round(s.go, { ...round, concurrency: s.concurrency });
    expectWellFormed(m);
    // One revision per txn; each of the ten keys' versions grew by one per txn.
    expect(await revision()).toBe(before + BigInt(m.ops));
    for (const key of txnKeys) {
      const kv = await etcd.get(key);
      expect(kv?.value).toEqual(value);
    }
    expect((await etcd.get(txnKeys[9]!))!.version).toBe(versionBefore + BigInt(m.ops));
  });

  it("watch trickle: Go's watcher gets every put of a second Go process, and says in how many responses", async () => {
    const writer = await GoBenchClient.start(binary, env.cluster.endpoint, "go-writer");
    env.cleanups.push(() => writer.close());
    const prefix = "bt/test/";
    const puts = 200;
    const before = await revision();
    await go.watchStart(prefix);
    const [watched] = await Promise.all([
      go.watchWait(puts, 60_000),
      writer.putTrickle(prefix, puts, 60_000),
    ]);
    expect(await revision()).toBe(before + BigInt(puts));
    expect((await etcd.range({ prefix }, { countOnly: true })).count).toBe(BigInt(puts));
    expect(watched.events).toBe(puts);
    // However etcd batched them: at least one response, never more than one per event.
    expect(watched.responses).toBeGreaterThanOrEqual(1);
    expect(watched.responses).toBeLessThanOrEqual(puts);
    expect(watched.cpuUs).toBeGreaterThanOrEqual(0);
    expect(watched.elapsedMs).toBeGreaterThan(0);
  });

  it("answers a bad operation with an error naming it, and keeps serving", async () => {
    await expect(go.round({ op: "nope" } as never, { ...round, concurrency: 1 })).rejects.toThrow(
      'unknown op "nope"',
    );
    const m = await go.round(scenario("range1").go, { ...round, concurrency: 1 });
    expect(m.ops).toBeGreaterThan(0);
  });

  it("without Go on the machine, says so instead of failing (the bench then runs without it)", async () => {
    const built = await buildGoBench({ PATH: "/nonexistent" }, "/nonexistent/go");
    expect(built).toEqual({
      missing: expect.stringContaining("the Go client of the benchmarks (bench/go) needs Go"),
    });
  });
});
