import { type FileHandle, open, rename, rm } from "node:fs/promises";
import { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { EtcdError, LocalFileError } from "../core/errors.js";

/**
 * Writes a snapshot's `chunks` into `path` (through `path.part`, renamed once complete, so `path` never
 * holds a partial snapshot) and returns its size in bytes: `maintenance.snapshotToFile` on `etcd-ts`.
 * Node's file system, so a platform's: `etcd-ts/web` has none.
 */
export async function writeSnapshotFile(path: string, chunks: AsyncIterable<Uint8Array>): Promise<number> {
  const partial = `${path}.part`;
  let bytes = 0;
  const counted = async function* (source: AsyncIterable<Uint8Array>) {
    for await (const chunk of source) {
      bytes += chunk.length;
      yield chunk;
    }
  };
  // The file first: a folder that does not exist or is not writable fails here, before a byte of the
  // snapshot is asked for, as a local file error (not as "etcd unavailable").
  let file: FileHandle;
  try {
    file = await open(partial, "w", 0o600);
  } catch (err) {
    throw new LocalFileError(partial, err);
  }
  try {
    await pipeline(Readable.from(counted(chunks)), file.createWriteStream());
  } catch (err) {
    await rm(partial, { force: true });
    // The snapshot's own failures are typed already; anything else came from writing the file.
    throw err instanceof EtcdError ? err : new LocalFileError(partial, err);
  } finally {
    await file.close().catch(() => {});
  }
  try {
    await rename(partial, path);
  } catch (err) {
    await rm(partial, { force: true });
    throw new LocalFileError(path, err);
  }
  return bytes;
}
