import { createHash } from "node:crypto";
import { createReadStream } from "node:fs";
import { open, stat } from "node:fs/promises";
import { Code } from "@connectrpc/connect";
import { EtcdError } from "../client/index.js";

/** A snapshot file failed its check: its size or its SHA-256 trailer is not what etcd writes. */
export class SnapshotCheckError extends EtcdError {
  override name = "SnapshotCheckError";
  constructor(message: string) {
    super(message, { code: Code.DataLoss });
  }
}

/** What {@link checkSnapshotFile} found. */
export interface SnapshotFileCheck {
  /** Size of the file, trailer included. */
  readonly bytes: number;
  /** The SHA-256 trailer (hex), which matched the hash of the database before it. */
  readonly sha256: string;
}

/** Size of the trailer etcd appends: SHA-256 of the database bytes before it. */
const TRAILER = 32;

/**
 * Checks a snapshot as `etcdctl snapshot restore` will: etcd streams the bbolt database (a whole number
 * of 512-byte multiples) and appends the SHA-256 of those bytes, so the size is 32 more than a multiple
 * of 512 and the last 32 bytes equal the hash of the rest. Throws {@link SnapshotCheckError} otherwise.
 */
export async function checkSnapshotFile(path: string): Promise<SnapshotFileCheck> {
  const { size } = await stat(path);
  if (size <= TRAILER || size % 512 !== TRAILER)
    throw new SnapshotCheckError(
      `${path}: ${size} bytes is not a database plus its sha256 trailer (the size must be 32 more than a multiple of 512)`,
    );
  const hash = createHash("sha256");
  for await (const chunk of createReadStream(path, { start: 0, end: size - TRAILER - 1 }))
    hash.update(chunk as Buffer);
  const trailer = Buffer.alloc(TRAILER);
  const file = await open(path);
  try {
    await file.read(trailer, 0, TRAILER, size - TRAILER);
  } finally {
    await file.close();
  }
  const computed = hash.digest();
  if (!computed.equals(trailer))
    throw new SnapshotCheckError(
      `${path}: the sha256 trailer ${trailer.toString("hex")} does not match the database (${computed.toString("hex")})`,
    );
  return { bytes: size, sha256: trailer.toString("hex") };
}
