import type { UnaryCaller } from "./caller.js";
import type { ConnectionPool } from "./pool.js";

/** What the admin APIs (cluster, maintenance, auth) share with the client that owns them. */
export interface AdminContext {
  /**
   * The client's unary call path (deadlines, retries by RETRY_TABLE, re-authentication, `hasleader`
   * per the client's `requireLeader`, typed errors).
   */
  readonly caller: UnaryCaller;
  /** The client's connections, for endpoint checks. */
  readonly pool: ConnectionPool;
  /** Aborted when the client closes. */
  readonly closed: AbortSignal;
  /**
   * Writes a snapshot into a file and returns its size (`maintenance.snapshotToFile`): the platform's,
   * absent where there is no file system (`etcd-ts/web`).
   */
  readonly writeSnapshotFile?:
    | ((path: string, chunks: AsyncIterable<Uint8Array>) => Promise<number>)
    | undefined;
}
