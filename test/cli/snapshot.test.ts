import { execFile } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdtemp, readdir, readFile, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Etcd } from "../../src/client/index.js";
import { type EtcdCluster, startEtcd } from "../../src/testing/index.js";
import { runCli } from "./support.js";

let cluster: EtcdCluster;
let etcd: Etcd;
let dir: string;

beforeAll(async () => {
  cluster = await startEtcd();
  etcd = new Etcd({ endpoints: cluster.endpoints });
  dir = await mkdtemp(join(tmpdir(), "etcd-ts-cli-snap-"));
  // Some data, so that the database spans more than a few pages.
  for (let i = 0; i < 50; i++) await etcd.put(`snap/${i}`, "x".repeat(10_000));
});

afterAll(async () => {
  await etcd?.close();
  await cluster?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe("etcd-ts snapshot save", { timeout: 120_000 }, () => {
  it("streams a snapshot with progress on stderr, checks its sha256 trailer, and etcdctl reads it", async () => {
    const path = join(dir, "backup.db");
    const r = await runCli(["--endpoints", cluster.endpoint, "snapshot", "save", path, "--json"]);
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(
      new RegExp(`^snapshot from ${cluster.endpoint}: received [\\d.]+ (KiB|MiB)$`, "m"),
    );
    const result = JSON.parse(r.stdout) as { path: string; bytes: number; sha256: string; endpoint: string };
    // The test's own check of the format: database + sha256(database).
    const file = await readFile(path);
    const db = file.subarray(0, file.length - 32);
    expect(result).toEqual({
      path,
      bytes: file.length,
      sha256: createHash("sha256").update(db).digest("hex"),
      endpoint: cluster.endpoint,
    });
    expect(file.subarray(file.length - 32).toString("hex")).toBe(result.sha256);
    expect(file.length).toBeGreaterThan(500_000);
    expect((await stat(path)).mode & 0o777).toBe(0o600);
    expect(await readdir(dir)).toEqual(["backup.db"]); // no .part left
    const status = await promisify(execFile)("etcdctl", ["snapshot", "status", path, "-w", "json"], {
      env: { ...process.env, ETCDCTL_API: "3" },
    });
    expect((JSON.parse(status.stdout) as { totalKey: number }).totalKey).toBeGreaterThanOrEqual(50);
  });

  it("prints a human summary; a failed snapshot leaves no file behind and exits with 1", async () => {
    const path = join(dir, "human.db");
    const r = await runCli(["--endpoints", cluster.endpoint, "snapshot", "save", path]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(
      new RegExp(`^Snapshot saved at ${path}: [\\d.]+ (KiB|MiB), sha256 [0-9a-f]{64} checked\\n$`),
    );
    const missing = join(dir, "no-such-dir", "x.db");
    const failed = await runCli(["--endpoints", cluster.endpoint, "snapshot", "save", missing]);
    expect(failed.code).toBe(1);
    expect(failed.stderr).toMatch(/^etcd-ts: ENOENT: no such file or directory/);
    expect(failed.stderr.trim().split("\n")).toHaveLength(1);
    expect((await readdir(dir)).sort()).toEqual(["backup.db", "human.db"]);
  });
});
