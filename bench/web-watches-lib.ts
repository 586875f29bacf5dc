/**
 * What bench/web-watches.ts runs in Chromium (bundled from web-watches-page.ts) and in Node alike:
 * etcd-ts/web's `Etcd`, one client per endpoint, watches spread over them round-robin, each on its own key.
 */
import { Etcd, type Watcher } from "../src/web/index.js";

/** What the bench calls (in the page through `globalThis.etcdPage`, in Node directly). */
export interface WatchesBench {
  /** Opens a client per endpoint and `n` watches of `<prefix><i>` (does not wait for them). */
  open(arg: { endpoints: string[]; n: number; prefix: string }): void;
  /** How many watches etcd has created so far, and how many events they delivered. */
  counts(): { created: number; events: number };
  /** Closes every watch and client. */
  close(): Promise<void>;
}

/** A fresh bench: its clients, watches and counters. */
export function watchesBench(): WatchesBench {
  const clients: Etcd[] = [];
  const watches: Watcher[] = [];
  let created = 0;
  let events = 0;
  return {
    open({ endpoints, n, prefix }) {
      for (const endpoint of endpoints) clients.push(new Etcd({ endpoints: [endpoint] }));
      for (let i = 0; i < n; i++) {
        const watch = clients[i % clients.length]!.watch(`${prefix}${i}`);
        watches.push(watch);
        void watch.created.then(
          () => created++,
          () => {},
        );
        watch.on("batch", (batch) => {
          events += batch.events.length;
        });
      }
    },
    counts: () => ({ created, events }),
    async close() {
      for (const watch of watches) watch.close();
      await Promise.all(clients.map((c) => c.close()));
    },
  };
}
