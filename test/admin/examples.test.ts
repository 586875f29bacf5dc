import { afterAll, beforeAll, expect, it, vi } from "vitest";
import { main } from "../../examples/admin.js";
import { type EtcdCluster, startEtcd } from "../../src/testing/index.js";
import { versionAtLeast } from "../support/server-version.js";

// docs/admin.md's example, run against a real etcd.
let cluster: EtcdCluster;

beforeAll(async () => {
  cluster = await startEtcd();
  vi.spyOn(console, "log").mockImplementation(() => {});
});

afterAll(async () => {
  vi.restoreAllMocks();
  await cluster?.close();
});

it("examples/admin.ts runs, and can run again (it cleans up after itself)", async () => {
  const { memberId: leaderId, version } = await cluster.members[0]!.status();
  // AuthStatus came with etcd 3.5; the example reports what the server can tell.
  const authStatus = versionAtLeast(version, "3.5") ? "disabled" : "unknown (needs etcd >= 3.5)";
  for (let run = 0; run < 2; run++) {
    const result = await main(cluster.endpoints);
    expect(result.snapshotBytes).toBeGreaterThan(4096);
    expect(result).toEqual({
      members: 1,
      leader: leaderId,
      alarms: 0,
      snapshotBytes: expect.any(Number),
      authStatus,
      deniedElsewhere: true,
    });
  }
  const out = vi
    .mocked(console.log)
    .mock.calls.map((c) => c.join(" "))
    .join("\n");
  expect(out).toMatch(/snapshot: \d+ bytes/);
  expect(out).not.toContain("root-password");
});
