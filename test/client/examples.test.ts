import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { main as errorsMain } from "../../examples/errors.js";
import { main as kvMain } from "../../examples/kv.js";
import { main as txnMain } from "../../examples/txn.js";
import { type EtcdCluster, startEtcd } from "../../src/testing/index.js";

// The README's examples, run against a real etcd.
let cluster: EtcdCluster;

beforeAll(async () => {
  cluster = await startEtcd();
  vi.spyOn(console, "log").mockImplementation(() => {});
});

afterAll(async () => {
  vi.restoreAllMocks();
  await cluster?.close();
});

describe("examples", () => {
  it("kv.ts", async () => {
    const out = await kvMain(cluster.endpoints);
    expect(out.name).toBe("demo");
    expect(out.keys).toEqual(["config/app/limits", "config/app/name"]);
    expect(out.seen).toBe(2);
    expect(out.deleted).toBe(2n);
    expect(out.revision).toBeGreaterThan(0n);
  });

  it("txn.ts", async () => {
    expect(await txnMain(cluster.endpoints)).toEqual({ created: true, value: "1" });
    expect(await txnMain(cluster.endpoints)).toEqual({ created: false, value: "2" });
  });

  it("errors.ts", async () => {
    expect(await errorsMain(cluster.endpoints)).toEqual([
      "InvalidArgumentError",
      "CompactedError",
      "AbortedError",
      "UnavailableError",
    ]);
  });

  it("runs when executed directly", async () => {
    const { stdout } = await promisify(execFile)("npx", ["tsx", "examples/txn.ts", cluster.endpoint], {
      timeout: 60_000,
    });
    expect(stdout).toContain("counter = 3");
  });
});
