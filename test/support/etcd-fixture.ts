import { afterAll, afterEach, beforeAll, expect } from "vitest";
import {
  AuthRequiredError,
  CompactedError,
  DeadlineExceededError,
  Etcd,
  type EtcdOptions,
  LeaseNotFoundError,
  PermissionDeniedError,
  UnavailableError,
} from "../../src/client/index.js";
import { type EtcdCluster, type StartEtcdOptions, startEtcd } from "../../src/testing/index.js";

/** Something to undo after a test: close a client, a cache, a proxy, delete keys. */
export type Cleanup = () => Promise<unknown> | unknown;

/** What {@link useEtcd} gives a file (or a `describe` block). */
export interface EtcdFixture {
  /** The etcd of the file, started in `beforeAll`; reading it earlier throws. */
  readonly cluster: EtcdCluster;
  /**
   * Undone after each test, last pushed first: the list the files used to declare themselves
   * (`cleanups.push(() => thing.close())`).
   */
  readonly cleanups: Cleanup[];
  /**
   * A client of the file's etcd, as a user makes it: `new Etcd()` with the fixture's client defaults,
   * then `options` (whose `endpoints` win). Closed after the file, in `afterAll`.
   */
  client(options?: Partial<EtcdOptions>): Etcd;
}

/** Options of {@link useEtcd}. */
export interface UseEtcdOptions {
  /** How to start the etcd. Default: `startEtcd()`, one member of the line under test. */
  start?: StartEtcdOptions & { runtime?: "binary" };
  /** What every `client()` of the fixture gets before its own options. Default: none. */
  client?: Partial<EtcdOptions>;
}

/**
 * The setup most integration files share: one etcd for the file or `describe` block it is called in,
 * `client()` for its clients, and a cleanup list run after each test. Registers the hooks itself: call it
 * at the top of the file or block, before the hooks that use it (vitest runs `beforeAll`s in order, and
 * `afterAll`s in reverse, so the etcd outlives every hook of the file).
 */
export function useEtcd(options: UseEtcdOptions = {}): EtcdFixture {
  let cluster: EtcdCluster | undefined;
  const clients: Etcd[] = [];
  const cleanups: Cleanup[] = [];
  beforeAll(async () => {
    cluster = await startEtcd(options.start);
  });
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });
  afterAll(async () => {
    try {
      for (const c of clients.splice(0)) await c.close();
    } finally {
      await cluster?.close();
    }
  });
  const started = (): EtcdCluster => {
    if (!cluster) throw new Error("useEtcd: the etcd starts in beforeAll; read it from a hook or a test");
    return cluster;
  };
  return {
    get cluster() {
      return started();
    },
    cleanups,
    client(own = {}) {
      const c = new Etcd({ endpoints: started().endpoints, ...options.client, ...own });
      clients.push(c);
      return c;
    },
  };
}

/** The shared etcd as a file sees it: its client URLs, no member to kill, freeze, restart or close. */
export interface SharedCluster {
  /** The client URL of its one member. */
  readonly endpoint: string;
  /** The client URLs (one member). */
  readonly endpoints: string[];
}

/**
 * What {@link useSharedEtcd} gives a file: the worker's etcd through its endpoints alone, a key prefix of
 * the file's own, and `client()` and `cleanups` as {@link useEtcd}'s.
 */
export interface SharedEtcdFixture {
  /** The shared etcd, lent in `beforeAll`; reading it earlier throws. */
  readonly cluster: SharedCluster;
  /**
   * A prefix no other file of the worker writes under (`shared-<n>/`), for files that want their keys
   * apart from the start (the reset between files deletes every key anyway).
   */
  readonly prefix: string;
  /** Undone after each test, last pushed first. */
  readonly cleanups: Cleanup[];
  /** A client of the shared etcd (`new Etcd()` with its endpoints, then `options`), closed after the file. */
  client(options?: Partial<EtcdOptions>): Etcd;
}

/**
 * Lends one etcd to one user at a time and checks it back in: the mechanism behind {@link useSharedEtcd}
 * (a worker has one, `sharedEtcd`). `lend()` starts the etcd on first use; `giveBack()` checks that it is as
 * it was lent and resets it for the next user, or throws it away and rejects naming what was changed.
 */
export class EtcdLender {
  #cluster: EtcdCluster | undefined;
  #user: string | undefined;
  readonly #start: () => Promise<EtcdCluster>;

  /** `start` makes a fresh etcd when there is none (default: `startEtcd()`, one member of the line under test). */
  constructor(start: () => Promise<EtcdCluster> = () => startEtcd()) {
    this.#start = start;
  }

  /** The etcd lent now, if any (for the lender's own test). */
  get lent(): EtcdCluster | undefined {
    return this.#user === undefined ? undefined : this.#cluster;
  }

  /** Lends the etcd to `user` (a name for messages); throws while another user has it. */
  async lend(user: string): Promise<EtcdCluster> {
    if (this.#user !== undefined)
      throw new Error(
        `useSharedEtcd: the shared etcd is in use by ${this.#user} (asked by ${user}); it is lent to one file at a time`,
      );
    this.#user = user;
    try {
      this.#cluster ??= await this.#start();
    } catch (error) {
      this.#user = undefined;
      throw error;
    }
    return this.#cluster;
  }

  /**
   * Takes the etcd back from its user: one running member, no alarm; then (as a client without
   * credentials) every lease revoked, every key deleted and the history compacted. When a check fails, or
   * a call of the check or reset fails (auth left on, the etcd not answering, ...), the etcd is closed, the
   * next `lend()` starts a fresh one, and this rejects naming the user, what it changed, and for a failed
   * call its cause and the step it failed at.
   */
  async giveBack(): Promise<void> {
    const cluster = this.#cluster;
    const user = this.#user;
    if (!cluster || user === undefined) return;
    const problems: string[] = [];
    const janitor = new Etcd({ endpoints: cluster.endpoints, timeoutMs: 10_000 });
    /** What the check or reset is doing, for the message when a call of it fails. */
    let step = "checking the members";
    try {
      for (const m of cluster.members) {
        if (!m.running) problems.push(`member ${m.name} is not running`);
        else if (m.frozen) problems.push(`member ${m.name} is frozen`);
      }
      if (problems.length === 0) {
        step = "listing the members";
        const members = await janitor.memberList();
        if (members.length !== 1) problems.push(`the etcd has ${members.length} members`);
        step = "listing the alarms";
        const alarms = await janitor.maintenance.alarms();
        if (alarms.length > 0) problems.push(`alarms are raised (${alarms.map((a) => a.alarm).join(", ")})`);
      }
      if (problems.length === 0) {
        step = "listing the leases";
        for (const id of await janitor.lease.leases()) {
          step = `revoking lease ${id.toString(16)}`;
          // A lease listed a moment ago may have expired since.
          await janitor.lease.revoke(id).catch((e: unknown) => {
            if (!(e instanceof LeaseNotFoundError)) throw e;
          });
        }
        step = "deleting every key";
        const { revision } = await janitor.delete({ fromKey: "\0" });
        step = `compacting at revision ${revision}`;
        // Already compacted there when the user wrote nothing since the last reset, or compacted itself.
        await janitor.compact(revision, { physical: true }).catch((e: unknown) => {
          if (!(e instanceof CompactedError)) throw e;
        });
      }
    } catch (error) {
      problems.push(`${resetFailure(error)} while ${step}`);
    } finally {
      await janitor.close();
    }
    this.#user = undefined;
    if (problems.length === 0) return;
    this.#cluster = undefined;
    await cluster.close();
    throw new Error(
      `useSharedEtcd: ${user} left cluster-wide state in the shared etcd (${problems.join("; ")}); such a file uses useEtcd()`,
    );
  }

  /** Closes the etcd (the worker's exit does this for the worker's lender). */
  async close(): Promise<void> {
    const cluster = this.#cluster;
    this.#cluster = undefined;
    this.#user = undefined;
    await cluster?.close();
  }
}

/** Why a call of {@link EtcdLender.giveBack}'s check or reset failed, as its message says it. */
function resetFailure(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  if (error instanceof AuthRequiredError)
    return `auth is on: a client without credentials was refused (${message})`;
  if (error instanceof PermissionDeniedError) return `a call was not permitted (${message})`;
  if (error instanceof DeadlineExceededError || error instanceof UnavailableError)
    return `the etcd did not answer (${message})`;
  return `a call failed (${error instanceof Error ? `${error.name}: ` : ""}${message})`;
}

/** The worker's lender: the files of a worker that call {@link useSharedEtcd} share its etcd. */
const sharedEtcd = new EtcdLender();
/** Files (or blocks) that used the shared etcd so far in this worker: the next one's prefix. */
let sharedUses = 0;

/**
 * One etcd shared, one file after the other, by the files of a vitest worker that ask for it: a one-member
 * etcd of the line under test, started by the first such file and reused by the next ones, which saves
 * an etcd start and stop per file. The fast projects run their files in one worker process
 * (`isolate: false`), so the etcd lives as long as the worker; in a project with a process per file it
 * is started per file, as with {@link useEtcd}. The worker's exit kills it (the kit's exit hook).
 *
 * Only for files that leave no cluster-wide state behind and assume none: no auth, no alarm, no member
 * added, removed, killed, frozen or restarted, no server flag of their own, no absolute revision (earlier
 * files advanced the store), no count of the server's leases or watchers. Compaction and defragmentation
 * are fine. Files that need any of these keep {@link useEtcd}.
 *
 * After the file, {@link EtcdLender.giveBack} checks that the etcd is as the file found it and resets it:
 * every lease revoked, every key deleted and the history compacted, so that a watch or read of an earlier
 * revision fails with a compaction instead of seeing another file's keys. A file that left auth on, an
 * alarm or another member fails in `afterAll` with an error naming what it changed, and the next file gets
 * a fresh etcd. Called twice at once (a nested `describe`), it throws.
 */
export function useSharedEtcd(options: { client?: Partial<EtcdOptions> } = {}): SharedEtcdFixture {
  const clients: Etcd[] = [];
  const cleanups: Cleanup[] = [];
  let mine: EtcdCluster | undefined;
  const prefix = `shared-${++sharedUses}/`;
  beforeAll(async () => {
    mine = await sharedEtcd.lend(expect.getState().testPath ?? prefix);
  });
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });
  afterAll(async () => {
    try {
      for (const c of clients.splice(0)) await c.close();
    } finally {
      if (mine) await sharedEtcd.giveBack();
      mine = undefined;
    }
  });
  const started = (): EtcdCluster => {
    if (!mine) throw new Error("useSharedEtcd: the etcd is lent in beforeAll; read it from a hook or a test");
    return mine;
  };
  return {
    get cluster() {
      const { endpoint, endpoints } = started();
      return { endpoint, endpoints: [...endpoints] };
    },
    prefix,
    cleanups,
    client(own = {}) {
      const c = new Etcd({ endpoints: started().endpoints, ...options.client, ...own });
      clients.push(c);
      return c;
    },
  };
}
