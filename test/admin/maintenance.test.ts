import { execFile } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdtemp, readFile, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { Code } from "@connectrpc/connect";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  Etcd,
  EtcdError,
  InvalidArgumentError,
  LocalFileError,
  NotSupportedError,
  UnavailableError,
} from "../../src/client/index.js";
import { type EtcdCluster, freePort, startEtcd } from "../../src/testing/index.js";
import { CallTap } from "../support/call-tap.js";
import { versionAtLeast } from "../support/server-version.js";
import { until } from "../support/wait.js";

const run = promisify(execFile);

let three: EtcdCluster;
let etcd: Etcd;
let dir: string;

beforeAll(async () => {
  [three, dir] = await Promise.all([startEtcd({ members: 3 }), mkdtemp(join(tmpdir(), "etcd-ts-snapshot-"))]);
  etcd = new Etcd({ endpoints: three.endpoints, timeoutMs: 10_000 });
});

afterAll(async () => {
  await etcd?.close();
  await three?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
});

/** True when every member applied the same raft index (so their stores are equal). */
async function sameIndex(): Promise<boolean> {
  const all = await etcd.maintenance.statusAll();
  const applied = new Set(all.map((s) => s.status?.raftAppliedIndex));
  const revisions = new Set(all.map((s) => s.status?.revision));
  return applied.size === 1 && revisions.size === 1 && !applied.has(undefined);
}

/** Waits until every member applied the same raft index; a status read that fails counts as not yet. */
async function settled(): Promise<void> {
  await until("the members to apply the same index", () => sameIndex().catch(() => false));
}

describe("status", () => {
  it("statusAll reports each member, exactly one leader all agree on", async () => {
    const all = await etcd.maintenance.statusAll();
    expect(all).toHaveLength(3);
    const ids = await Promise.all(three.members.map(async (m) => (await m.status()).memberId));
    expect(all.map((s) => s.member.id).sort()).toEqual([...ids].sort());
    const leaders = all.filter((s) => s.status?.isLeader);
    expect(leaders).toHaveLength(1);
    const leaderId = leaders[0]!.member.id;
    expect((await three.leader()).memberId).toBe(leaderId);
    for (const s of all) {
      expect(s.error).toBeUndefined();
      expect(s.endpoint).toBe(s.member.clientUrls[0]);
      expect(s.status).toMatchObject({ memberId: s.member.id, leader: leaderId, endpoint: s.endpoint });
      expect(s.status!.version).toMatch(/^3\.\d+\.\d+$/);
      expect(s.status!.raftTerm).toBeGreaterThanOrEqual(1n);
      expect(s.status!.raftIndex).toBeGreaterThan(0n);
      expect(s.status!.dbSize).toBeGreaterThan(0n);
      expect(s.status!.isLearner).toBe(false);
    }
  });

  it("status(endpoint) asks that member", async () => {
    for (const m of three.members) {
      const s = await etcd.maintenance.status(m.clientUrl);
      expect(s.memberId).toBe(m.memberId);
      expect(s.endpoint).toBe(m.clientUrl);
    }
  });
});

describe("hashes", () => {
  it("hash and hashKV agree across members, and hashKV changes with a write", async () => {
    for (let i = 0; i < 5; i++) await etcd.put(`hash/${i}`, `v${i}`);
    await settled();
    const hashes = await Promise.all(three.endpoints.map((e) => etcd.maintenance.hash(e)));
    const kv = await Promise.all(three.endpoints.map((e) => etcd.maintenance.hashKV(e)));
    expect(new Set(hashes.map((h) => h.memberId)).size).toBe(3);
    expect(new Set(hashes.map((h) => h.hash)).size).toBe(1);
    expect(new Set(kv.map((h) => h.hash)).size).toBe(1);
    expect(kv[0]!.hash).not.toBe(0);
    const at = kv[0]!.revision;
    await etcd.put("hash/extra", "x");
    await settled();
    const after = await etcd.maintenance.hashKV(three.endpoints[1]!);
    expect(after.revision).toBe(at + 1n);
    expect(after.hash).not.toBe(kv[0]!.hash);
    // Asked at the old revision, the hash is the old one.
    expect((await etcd.maintenance.hashKV(three.endpoints[2]!, at)).hash).toBe(kv[0]!.hash);
  });
});

/** Takes a snapshot into `name` through etcd.maintenance and reads it back with `etcdctl snapshot status`. */
async function snapshotStatus(name: string): Promise<{ revision: bigint; totalKey: number }> {
  await settled();
  const { revision } = await etcd.maintenance.status(three.endpoints[0]);
  const path = join(dir, name);
  const written = await etcd.maintenance.snapshotToFile(path, { endpoint: three.endpoints[0] });
  expect(written.path).toBe(path);
  expect(written.bytes).toBe((await stat(path)).size);
  expect(written.bytes).toBeGreaterThan(4096);
  const { stdout } = await run("etcdctl", ["snapshot", "status", path, "-w", "json"], {
    env: { ...process.env, ETCDCTL_API: "3" },
    timeout: 20_000,
  });
  const info = JSON.parse(stdout) as { revision: number; totalKey: number; totalSize: number };
  // The file is the bolt database followed by its SHA-256 (32 bytes), which `snapshot restore` checks.
  expect(info.totalSize + 32).toBe(written.bytes);
  // The snapshot is at the revision the member reported just before (nothing written meanwhile).
  expect(BigInt(info.revision)).toBe(revision);
  return { revision: BigInt(info.revision), totalKey: info.totalKey };
}

describe("snapshot", () => {
  it("snapshotToFile writes a file etcdctl reads, at the store's revision", async () => {
    const first = await snapshotStatus("first.db");
    for (let i = 0; i < 3; i++) await etcd.put(`snap/${i}`, "v");
    const second = await snapshotStatus("snap.db");
    // Three single-key puts: three more revisions, three more entries in the key bucket.
    expect(second.revision).toBe(first.revision + 3n);
    expect(second.totalKey - first.totalKey).toBe(3);
    await expect(stat(join(dir, "snap.db.part"))).rejects.toMatchObject({ code: "ENOENT" });
  });

  it("snapshot() is an async iterable of chunks ending with the SHA-256 of the rest", async () => {
    const chunks: Uint8Array[] = [];
    for await (const chunk of etcd.maintenance.snapshot({ endpoint: three.endpoints[2] })) {
      expect(chunk).toBeInstanceOf(Uint8Array);
      chunks.push(chunk);
    }
    expect(chunks.length).toBeGreaterThan(0);
    const data = Buffer.concat(chunks);
    const body = data.subarray(0, data.length - 32);
    expect(
      createHash("sha256")
        .update(body)
        .digest()
        .equals(data.subarray(data.length - 32)),
    ).toBe(true);
    // Member 0's file (taken above) has the same integrity check.
    const file = await readFile(join(dir, "snap.db"));
    const fileBody = file.subarray(0, file.length - 32);
    expect(
      createHash("sha256")
        .update(fileBody)
        .digest()
        .equals(file.subarray(file.length - 32)),
    ).toBe(true);
  });

  it("a snapshot moves past a dead endpoint, unless aimed at it", async () => {
    const dead = `http://127.0.0.1:${await freePort()}`;
    await using client = new Etcd({ endpoints: [dead, three.endpoints[1]!], timeoutMs: 5_000 });
    let bytes = 0;
    for await (const chunk of client.maintenance.snapshot()) bytes += chunk.length;
    expect(bytes).toBeGreaterThan(4096);
    const aimed = await (async () => {
      for await (const _ of client.maintenance.snapshot({ endpoint: dead })) {
        // nothing arrives
      }
    })().catch((e: unknown) => e);
    expect(aimed).toBeInstanceOf(UnavailableError);
    expect((aimed as UnavailableError).endpoint).toBe(dead);
  });

  it("snapshotToFile into a folder that does not exist fails as a local file error, before the stream opens", async () => {
    const tap = new CallTap();
    await using client = tap.client({ endpoints: three.endpoints });
    const path = join(dir, "no-such-folder", "etcd.db");
    const err = await client.maintenance.snapshotToFile(path).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(LocalFileError);
    const e = err as LocalFileError;
    expect(e.code).toBe(Code.FailedPrecondition);
    expect(e.path).toBe(`${path}.part`);
    expect(e.message).toContain("ENOENT");
    expect((e.cause as NodeJS.ErrnoException).code).toBe("ENOENT");
    expect(tap.streams.map((s) => s.method)).not.toContain("Snapshot");
    // And a snapshot written where the folder exists is readable by its owner only (it holds every key).
    const written = await client.maintenance.snapshotToFile(join(dir, "private.db"));
    expect((await stat(written.path)).mode & 0o777).toBe(0o600);
  });

  it("an aborted snapshot fails with AbortedError and leaves no file", async () => {
    const path = join(dir, "aborted.db");
    const err = await etcd.maintenance
      .snapshotToFile(path, { signal: AbortSignal.abort() })
      .catch((e: unknown) => e);
    expect((err as EtcdError).name).toBe("AbortedError");
    await expect(stat(path)).rejects.toMatchObject({ code: "ENOENT" });
    await expect(stat(`${path}.part`)).rejects.toMatchObject({ code: "ENOENT" });
  });
});

describe("defragment", () => {
  it("defragments each member; they keep serving", async () => {
    for (const endpoint of three.endpoints) {
      await etcd.maintenance.defragment(endpoint);
      const s = await etcd.maintenance.status(endpoint);
      expect(s.dbSizeInUse).toBeLessThanOrEqual(s.dbSize);
    }
    expect((await etcd.get("hash/0"))?.text()).toBe("v0");
  });
});

describe("moveLeader", () => {
  it("moves leadership to a follower; the kit sees the new leader", async () => {
    const before = await three.leader();
    const follower = three.members.find((m) => m !== before)!;
    await etcd.maintenance.moveLeader(follower.memberId!);
    const after = await three.leader({ timeoutMs: 10_000 });
    expect(after.memberId).toBe(follower.memberId);
    const all = await etcd.maintenance.statusAll();
    expect(all.find((s) => s.status?.isLeader)?.member.id).toBe(follower.memberId);
  });
});

describe("downgrade", () => {
  it("validates a downgrade on 3.5+ (the cluster version back); NotSupportedError naming the RPC on 3.4", async () => {
    const { version } = await etcd.maintenance.status();
    const [major, minor] = version.split(".").map(Number) as [number, number];
    if (!versionAtLeast(version, "3.5")) {
      const err = await etcd.maintenance.downgrade("validate", "3.3").catch((e: unknown) => e);
      expect(err).toBeInstanceOf(NotSupportedError);
      expect((err as NotSupportedError).code).toBe(Code.Unimplemented);
      expect((err as NotSupportedError).message).toMatch(/Maintenance\/Downgrade .*requires etcd >= 3\.5/);
      return;
    }
    // VALIDATE changes nothing: it checks the target (one minor below) and answers the cluster version
    // ("3.5.0" on 3.5, "3.6" from 3.6 on).
    const validated = await etcd.maintenance.downgrade("validate", `${major}.${minor - 1}`);
    expect(validated.version.startsWith(`${major}.${minor}`)).toBe(true);
    const same = await etcd.maintenance.downgrade("validate", `${major}.${minor}`).catch((e: unknown) => e);
    expect(same).toBeInstanceOf(EtcdError);
    expect(same).toMatchObject({
      code: Code.InvalidArgument,
      serverMessage: "etcdserver: invalid downgrade target version",
    });
  });

  it("validates its input", async () => {
    await expect(etcd.maintenance.downgrade("enable", "latest")).rejects.toMatchObject({ field: "version" });
    await expect(etcd.maintenance.hash("")).rejects.toBeInstanceOf(InvalidArgumentError);
  });
});

describe("alarms: NOSPACE", () => {
  it("a small quota raises NOSPACE; compact + defragment + disarm clear it", async () => {
    await using small = await startEtcd({ args: ["--quota-backend-bytes=16777216"] });
    await using client = new Etcd({ endpoints: small.endpoints, timeoutMs: 10_000 });
    const endpoint = small.endpoint;
    expect(await client.maintenance.alarms()).toEqual([]);
    const value = new Uint8Array(1024 * 1024).fill(7);
    let full: EtcdError | undefined;
    // Bounded by count: 16 MiB of quota fills within 64 puts of 1 MiB (the test's timeout catches a hang).
    for (let i = 0; i < 64 && !full; i++) {
      await client.put("big", value).catch((e: unknown) => {
        full = e as EtcdError;
      });
    }
    expect(full).toBeInstanceOf(EtcdError);
    expect(full!.code).toBe(Code.ResourceExhausted);
    expect(full!.serverMessage).toBe("etcdserver: mvcc: database space exceeded");

    const memberId = (await client.maintenance.status(endpoint)).memberId;
    expect(await client.maintenance.alarms()).toEqual([{ memberId, alarm: "NOSPACE" }]);
    const before = await client.maintenance.status(endpoint);
    expect(before.errors.join(" ")).toMatch(/NOSPACE/);
    // Still full: writes keep failing until the space is freed and the alarm cleared.
    await expect(client.put("other", "x")).rejects.toMatchObject({ code: Code.ResourceExhausted });

    await client.compact(before.revision, { physical: true });
    await client.maintenance.defragment(endpoint);
    const after = await client.maintenance.status(endpoint);
    expect(after.dbSize).toBeLessThan(before.dbSize);
    expect(await client.maintenance.disarm()).toEqual([{ memberId, alarm: "NOSPACE" }]);
    expect(await client.maintenance.alarms()).toEqual([]);
    await client.put("other", "x");
    expect((await client.get("other"))?.text()).toBe("x");
  }, 90_000);
});
