import { createHash } from "node:crypto";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { checkSnapshotFile, SnapshotCheckError } from "./snapshot-file.js";

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "etcd-ts-snap-"));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** A file shaped as etcd streams a snapshot: `pages` 4 KiB pages, then the sha256 of them. */
async function snapshotLike(name: string, pages: number, tamper?: (bytes: Buffer) => void): Promise<string> {
  const db = Buffer.alloc(pages * 4096);
  for (let i = 0; i < db.length; i++) db[i] = (i * 31) & 0xff;
  const file = Buffer.concat([db, createHash("sha256").update(db).digest()]);
  tamper?.(file);
  const path = join(dir, name);
  await writeFile(path, file);
  return path;
}

describe("checkSnapshotFile", () => {
  it("accepts a database followed by its sha256, as etcdctl snapshot restore does", async () => {
    const path = await snapshotLike("good.db", 5);
    const db = Buffer.alloc(5 * 4096);
    for (let i = 0; i < db.length; i++) db[i] = (i * 31) & 0xff;
    expect(await checkSnapshotFile(path)).toEqual({
      bytes: 5 * 4096 + 32,
      sha256: createHash("sha256").update(db).digest("hex"),
    });
  });

  it("refuses a flipped byte, a cut file and a file without a trailer", async () => {
    const flipped = await snapshotLike("flipped.db", 5, (b) => {
      b[100] = b[100]! ^ 1;
    });
    await expect(checkSnapshotFile(flipped)).rejects.toThrow(SnapshotCheckError);
    await expect(checkSnapshotFile(flipped)).rejects.toThrow(/does not match the database/);
    const cut = join(dir, "cut.db");
    await writeFile(cut, Buffer.alloc(4096 + 31));
    await expect(checkSnapshotFile(cut)).rejects.toThrow(/32 more than a multiple of 512/);
    const bare = join(dir, "bare.db");
    await writeFile(bare, Buffer.alloc(4096));
    await expect(checkSnapshotFile(bare)).rejects.toThrow(SnapshotCheckError);
    const tiny = join(dir, "tiny.db");
    await writeFile(tiny, Buffer.alloc(32));
    await expect(checkSnapshotFile(tiny)).rejects.toThrow(SnapshotCheckError);
  });
});
