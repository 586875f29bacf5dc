/**
 * Pick cost of each balancing policy, in process (no etcd, no network): a `PickPool` of n instances as the
 * balanced transport keeps it, and per call what the transport does around the wire: choose an instance,
 * count the call in flight, record how it ended (p2c-ewma learns from that), end it. Reported as ns per
 * call, at n = 100 and 10,000 (equal weights), and at 10,000 with weights 1..4 (round robin compares the
 * head of each weight's rotation: O(distinct weights)). Every call carries a hash key (one of 4,096, in
 * turn): ring-hash reads it, the others ignore it. For ring-hash, `buildMs` is the time of the ring's
 * first build (the warm-up's first pick), and `joinMs` the first pick after one more instance joined
 * (the fastest of 5 joins; ring-hash merges the newcomer's points into its ring). At 10,000 instances each
 * policy runs again with `locality` on (instances in 10 zones, the caller's zone holding 1,000: `used`
 * stays at 1,000) and with `slowStart` on (a 60 s window; 100 instances join after the first view and
 * ramp; the candidates are re-shaped at each of the ramp's steps, every 3 s of the bench's clock, which
 * moves 10 µs a call). Used by `bench/discovery.ts`; runs alone with
 * `BENCH_DISCOVERY_ONLY=pick npm run bench:discovery`.
 */
import { toInstance } from "../src/discovery/index.js";
import { localitySettings } from "../src/discovery/locality.js";
import { outlierDetectionSettings } from "../src/discovery/outlier-detection.js";
import type { BalancePolicy } from "../src/discovery/pick-policy.js";
import { PickPool } from "../src/discovery/pick-pool.js";
import { Picker } from "../src/discovery/picker.js";
import { slowStartSettings } from "../src/discovery/slow-start.js";
import { fakeAddr, round2 } from "./discovery-support.js";

/** What shapes the candidates before the policy picks (docs/discovery.md): none, or one of the two. */
export type PickShaping = "none" | "locality" | "slowStart";

export interface PickCostResult {
  policy: BalancePolicy;
  shaping: PickShaping;
  instances: number;
  /** Distinct weights among the instances. */
  weights: number;
  calls: number;
  nsPerCall: number;
  /** Instances that got at least one call (a sanity check that picks spread). */
  instancesUsed: number;
  /** Time of the first pick, in ms: ring-hash builds its ring then (the others index their array). */
  buildMs: number;
  /** Time of the first pick after one more instance joined, in ms (the fastest of 5 joins; ring-hash merges its points in). */
  joinMs: number;
}

const POLICIES: BalancePolicy[] = ["round-robin", "p2c", "p2c-ewma", "ring-hash"];
/** The calls' hash keys, taken in turn. */
const REQUESTS = Array.from({ length: 4096 }, (_, i) => ({ hashKey: `user-${i}` }));

/** Measures every policy at each size; `calls` per measurement after as many warm-up calls. */
export function pickCost(calls = 200_000): PickCostResult[] {
  const results: PickCostResult[] = [];
  const cases = [
    { instances: 100, weights: 1 },
    { instances: 10_000, weights: 1 },
    { instances: 10_000, weights: 4 },
  ];
  for (const { instances, weights } of cases) {
    for (const policy of POLICIES) results.push(measure(policy, instances, weights, calls));
  }
  for (const shaping of ["locality", "slowStart"] as const) {
    for (const policy of POLICIES) results.push(measure(policy, 10_000, 1, calls, shaping));
  }
  return results;
}

function measure(
  policy: BalancePolicy,
  instances: number,
  weights: number,
  calls: number,
  shaping: PickShaping = "none",
): PickCostResult {
  const pool = new PickPool(new Picker(policy), outlierDetectionSettings(), () => {}, {
    locality: shaping === "locality" ? localitySettings({ zone: "zone-0" }) : undefined,
    slowStart: shaping === "slowStart" ? slowStartSettings({ windowMs: 60_000 }) : undefined,
  });
  const added = (from: number, count: number) =>
    Array.from({ length: count }, (_, k) => {
      const i = from + k;
      return {
        type: "added" as const,
        key: `svc/${fakeAddr(i)}`,
        instance: toInstance({
          service: "svc",
          addr: fakeAddr(i),
          weight: 1 + (i % weights),
          zone: `zone-${i % 10}`,
          region: `region-${i % 2}`,
        }),
      };
    });
  let now = Date.now();
  // The first view is settled (no ramp); with slow start, 100 more join after it and warm.
  pool.apply(added(0, instances), now, true);
  if (shaping === "slowStart") pool.apply(added(instances, 100), now);
  const used = new Set<string>();
  const tried = new Set<string>();
  const run = (n: number) => {
    for (let i = 0; i < n; i++) {
      const member = pool.choose(tried, now, REQUESTS[i & 4095])!;
      member.inFlight++;
      used.add(member.key);
      // A made-up latency (1-4 ms by instance) and a clock that moves 10 µs per call.
      now += 0.01;
      member.inFlight--;
      pool.record(member, "answered", now, { latencyMs: 1 + (member.key.length % 4), failed: false });
    }
  };
  const built = process.hrtime.bigint();
  run(1);
  const buildMs = round2(Number(process.hrtime.bigint() - built) / 1e6);
  run(calls); // warm-up: JIT, and the pool's arrays and each policy's index built
  used.clear();
  const start = process.hrtime.bigint();
  run(calls);
  const ns = Number(process.hrtime.bigint() - start);
  const instancesUsed = used.size;
  // Five joins, the fastest reported: the first runs code not compiled yet.
  let joinNs = Number.POSITIVE_INFINITY;
  for (let j = 0; j < 5; j++) {
    const addr = fakeAddr(instances + 100 + j);
    pool.apply([
      { type: "added" as const, key: `svc/${addr}`, instance: toInstance({ service: "svc", addr }) },
    ]);
    const joined = process.hrtime.bigint();
    run(1);
    joinNs = Math.min(joinNs, Number(process.hrtime.bigint() - joined));
  }
  const joinMs = round2(joinNs / 1e6);
  return {
    policy,
    shaping,
    instances,
    weights,
    calls,
    nsPerCall: round2(ns / calls),
    instancesUsed,
    buildMs,
    joinMs,
  };
}

/** Prints one table row per result. */
export function printPickCost(results: readonly PickCostResult[]): void {
  console.log(
    `${"policy".padEnd(22)}${"instances".padStart(10)}${"weights".padStart(9)}${"ns/call".padStart(10)}${"used".padStart(8)}${"1st ms".padStart(9)}${"join ms".padStart(9)}`,
  );
  for (const r of results) {
    console.log(
      `${(r.shaping === "none" ? r.policy : `${r.policy}+${r.shaping}`).padEnd(22)}${String(r.instances).padStart(10)}${String(r.weights).padStart(9)}${String(r.nsPerCall).padStart(10)}${String(r.instancesUsed).padStart(8)}${String(r.buildMs).padStart(9)}${String(r.joinMs).padStart(9)}`,
    );
  }
}
