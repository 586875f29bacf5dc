import type { Etcd } from "../../src/client/index.js";
import { op } from "../../src/client/index.js";

/**
 * Streams puts, deletes and multi-key txns under `prefix` while a fault happens, so watchers have a
 * history to lose. Errors (a member down) are counted and the loop goes on.
 */
export class HistoryLoad {
  readonly #prefix: string;
  readonly #client: () => Etcd;
  #running = false;
  #loop: Promise<void> | undefined;
  /** Writes acknowledged / failed so far. */
  ok = 0;
  failed = 0;

  /** `client` is called for each write, so a test can spread writes over members and skip dead ones. */
  constructor(prefix: string, client: () => Etcd) {
    this.#prefix = prefix;
    this.#client = client;
  }

  /** Starts writing, one operation every `pauseMs` (default 2 ms). */
  start(pauseMs = 2): void {
    this.#running = true;
    this.#loop = this.#run(pauseMs);
  }

  /** Stops writing and waits for the last write. */
  async stop(): Promise<void> {
    this.#running = false;
    await this.#loop;
  }

  /** Puts the sentinel key `<prefix>~end` and returns its revision: the end of the history to compare. */
  async sentinel(): Promise<bigint> {
    for (let attempt = 0; ; attempt++) {
      try {
        return (await this.#client().put(`${this.#prefix}~end`, "end", { timeoutMs: 5000 })).revision;
      } catch (err) {
        if (attempt >= 20) throw err;
        await new Promise((r) => setTimeout(r, 250));
      }
    }
  }

  async #run(pauseMs: number): Promise<void> {
    let i = 0;
    while (this.#running) {
      i++;
      const etcd = this.#client();
      const key = (n: number) => `${this.#prefix}k${n % 17}`;
      try {
        if (i % 5 === 0) {
          await etcd.delete(key(i - 1), { timeoutMs: 3000 });
        } else if (i % 7 === 0) {
          await etcd
            .txn()
            .onSuccess(...[0, 1, 2].map((j) => op.put(key(i + j), `t${i}`)))
            .commit({ timeoutMs: 3000 });
        } else {
          await etcd.put(key(i), `v${i}`, { timeoutMs: 3000 });
        }
        this.ok++;
      } catch {
        this.failed++;
        await new Promise((r) => setTimeout(r, 50));
      }
      if (pauseMs > 0) await new Promise((r) => setTimeout(r, pauseMs));
    }
  }
}
