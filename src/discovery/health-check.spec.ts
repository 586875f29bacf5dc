import { Code, ConnectError, createRouterTransport } from "@connectrpc/connect";
import { describe, expect, it } from "vitest";
import { Health, HealthCheckResponse_ServingStatus as Status } from "../gen/grpc/health/v1/health_pb.js";
import { type HealthCheckOptions, healthCheckSettings, InstanceHealthCheck } from "./health-check.js";

/** One scripted answer of the fake server: a status, or an error code. */
type Answer = Status | Code;

/**
 * Runs an {@link InstanceHealthCheck} against an in-memory server that answers `Check` from `script`
 * (then never again) and, when `watch` is given, `Watch` with its messages (or fails with a code).
 * Resolves with each change of the verdict and how many Checks had been answered when it came.
 */
async function run(
  script: Answer[],
  options: HealthCheckOptions,
  watch?: { messages: Status[] } | { fail: Code },
): Promise<{ changes: [boolean, number][]; checks: number; watches: number }> {
  let checks = 0;
  let watches = 0;
  const answered = resolvers();
  const transport = createRouterTransport(({ service }) =>
    service(Health, {
      async check(_req, ctx) {
        const answer = script[checks];
        if (answer === undefined) {
          answered.resolve();
          // Never answers again: the check waits until it is stopped.
          await new Promise((resolve) => ctx.signal.addEventListener("abort", resolve));
          throw new ConnectError("stopped", Code.Canceled);
        }
        checks++;
        if (typeof answer === "number" && answer >= 100) throw new ConnectError("scripted", answer - 100);
        return { status: answer as Status };
      },
      list: () => ({}),
      async *watch(_req, ctx) {
        watches++;
        if (!watch) throw new ConnectError("no watch", Code.Unimplemented);
        if ("fail" in watch) throw new ConnectError("scripted", watch.fail);
        for (const status of watch.messages) yield { status };
        answered.resolve();
        await new Promise((resolve) => ctx.signal.addEventListener("abort", resolve));
      },
    }),
  );
  const changes: [boolean, number][] = [];
  const check = new InstanceHealthCheck(
    healthCheckSettings({ intervalMs: 1, ...options }),
    transport,
    (serving) => changes.push([serving, checks]),
  );
  await answered.promise;
  await check.stop();
  return { changes, checks, watches };
}

/** An error code as a script entry (statuses are < 100). */
const fail = (code: Code): Answer => (100 + code) as Answer;
const { SERVING, NOT_SERVING, UNKNOWN } = Status;

describe("InstanceHealthCheck (Check)", () => {
  it("takes an instance out after unhealthyThreshold failures in a row, back after healthyThreshold SERVING", async () => {
    const r = await run(
      [
        SERVING,
        fail(Code.Unavailable),
        SERVING,
        fail(Code.DeadlineExceeded),
        fail(Code.Unavailable),
        SERVING,
        SERVING,
      ],
      { mode: "check", unhealthyThreshold: 2, healthyThreshold: 2 },
    );
    expect(r.changes).toEqual([
      [false, 5],
      [true, 7],
    ]);
  });

  it("takes it out at once on NOT_SERVING, UNKNOWN or NOT_FOUND, whatever the threshold", async () => {
    for (const answer of [NOT_SERVING, UNKNOWN, fail(Code.NotFound)]) {
      const r = await run([SERVING, answer, SERVING], { mode: "check", unhealthyThreshold: 5 });
      expect(r.changes).toEqual([
        [false, 2],
        [true, 3],
      ]);
    }
  });

  it("UNIMPLEMENTED is serving by default, not serving with unimplemented: 'not-serving'", async () => {
    expect((await run([fail(Code.Unimplemented)], { mode: "check" })).changes).toEqual([]);
    expect(
      (await run([fail(Code.Unimplemented)], { mode: "check", unimplemented: "not-serving" })).changes,
    ).toEqual([[false, 1]]);
  });
});

describe("InstanceHealthCheck (Watch)", () => {
  it("acts on each message at once (healthyThreshold does not apply)", async () => {
    const r = await run(
      [],
      { healthyThreshold: 3 },
      { messages: [SERVING, NOT_SERVING, SERVING, NOT_SERVING] },
    );
    expect(r.changes.map(([serving]) => serving)).toEqual([false, true, false]);
    expect(r.checks).toBe(0);
  });

  it("falls back to Check when Watch is UNIMPLEMENTED", async () => {
    const r = await run([SERVING, NOT_SERVING], {}, { fail: Code.Unimplemented });
    expect(r.watches).toBe(1);
    expect(r.changes).toEqual([[false, 2]]);
  });

  it("a Watch that fails counts toward unhealthyThreshold, and is opened again", async () => {
    // Out exactly as the third failed Watch ends.
    expect(await runUntilOut(3)).toBe(3);
  });
});

/** Counts Watch attempts (each failing UNAVAILABLE) until the instance is out; returns the count. */
async function runUntilOut(threshold: number): Promise<number> {
  let watches = 0;
  const out = resolvers();
  const transport = createRouterTransport(({ service }) =>
    service(Health, {
      check: () => ({ status: SERVING }),
      list: () => ({}),
      // biome-ignore lint/correctness/useYield: a Watch that fails before its first message
      async *watch() {
        watches++;
        throw new ConnectError("down", Code.Unavailable);
      },
    }),
  );
  const check = new InstanceHealthCheck(
    healthCheckSettings({ intervalMs: 1, unhealthyThreshold: threshold }),
    transport,
    (serving) => {
      if (!serving) out.resolve();
    },
  );
  await out.promise;
  const seen = watches;
  await check.stop();
  return seen;
}

function resolvers(): { promise: Promise<void>; resolve: () => void } {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => {
    resolve = r;
  });
  return { promise, resolve };
}
