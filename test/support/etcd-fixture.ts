import { afterAll, afterEach, beforeAll } from "vitest";
import { Etcd, type EtcdOptions } from "../../src/client/index.js";
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
