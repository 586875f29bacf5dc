import { open, rename, rm } from "node:fs/promises";
import { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import type { Command } from "../../command.js";
import { formatBytes } from "../../output.js";
import { checkSnapshotFile } from "../../snapshot-file.js";
import { UsageError } from "../../usage-error.js";

/** Least time between two progress lines, in ms. */
const PROGRESS_EVERY_MS = 500;

/** `etcd-ts snapshot save <file>`. */
export const snapshotSave: Command = {
  name: "save",
  summary: "Stream a snapshot of one member's database into <file>, then check it",
  usage: "<file>",
  args: { min: 1, max: 1 },
  details:
    "Takes the snapshot from the one endpoint given (as etcdctl, it refuses several). Progress goes to\n" +
    "stderr while it streams; the data goes to <file>.part (readable by its owner only: a snapshot holds\n" +
    "every key, users included), which is checked (its size, and the SHA-256 trailer etcd appends must\n" +
    "match the database) and only then renamed to <file>, so <file> never holds a partial or corrupt\n" +
    "snapshot. No deadline unless --command-timeout is given; Ctrl-C stops it (exit 130, the .part file\n" +
    "removed). The file is what 'etcdctl snapshot restore' reads. Prints 'Snapshot saved at <file>:\n" +
    "<size>, sha256 <hex> checked'; with --json { path, bytes, sha256, endpoint }.",
  examples: ["etcd-ts snapshot save backup.db --endpoints 10.0.0.1:2379"],
  async run(ctx) {
    const path = ctx.args[0]!;
    const etcd = ctx.etcd();
    if (etcd.endpoints.length !== 1)
      throw new UsageError(
        `snapshot save: give exactly one endpoint, the member to take it from (got ${etcd.endpoints.length})`,
      );
    const endpoint = etcd.endpoints[0]!;
    // The part file first: a path that cannot be written fails here, with nothing asked of etcd and no
    // progress printed (the library's snapshotToFile does the same).
    const partial = `${path}.part`;
    const file = await open(partial, "w", 0o600);
    const timeoutMs = ctx.commandTimeoutGiven ? ctx.clientOptions().timeoutMs : undefined;
    const chunks = etcd.maintenance.snapshot({
      endpoint,
      signal: ctx.signal,
      ...(timeoutMs ? { timeoutMs } : {}),
    });
    let received = 0;
    let shown = -1;
    let shownAt = 0;
    const show = () => {
      if (shown === received) return;
      shown = received;
      shownAt = performance.now();
      ctx.out.progress(`snapshot from ${endpoint}: received ${formatBytes(received)}`);
    };
    const counted = async function* () {
      for await (const chunk of chunks) {
        received += chunk.length;
        if (performance.now() - shownAt >= PROGRESS_EVERY_MS) show();
        yield chunk;
      }
    };
    let check: Awaited<ReturnType<typeof checkSnapshotFile>>;
    try {
      await pipeline(Readable.from(counted()), file.createWriteStream());
      show();
      check = await checkSnapshotFile(partial);
      await rename(partial, path);
    } catch (err) {
      await file.close().catch(() => {});
      await rm(partial, { force: true });
      throw err;
    }
    if (ctx.out.json) ctx.out.document({ path, bytes: check.bytes, sha256: check.sha256, endpoint });
    else
      ctx.out.line(`Snapshot saved at ${path}: ${formatBytes(check.bytes)}, sha256 ${check.sha256} checked`);
    return 0;
  },
};
