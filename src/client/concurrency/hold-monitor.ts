import { Event_EventType } from "../../gen/mvccpb/kv_pb.js";
import { LockLostError } from "./errors.js";
import type { Session } from "./session.js";

/**
 * Watches a held lock or leadership key and rejects `lost` when it goes: the session's lease is lost,
 * or the key is deleted by anyone but `stop()`'s caller (a revoke from elsewhere, an operator's delete).
 * The watch usually tells first: a lease revoked on another client deletes the key at once, while the
 * keepalive only learns it at its next refresh.
 */
export class HoldMonitor {
  readonly #lost: Promise<never>;
  #reject!: (err: LockLostError) => void;
  readonly #controller = new AbortController();
  #active = true;
  #unlisten: (() => void) | undefined;

  constructor(session: Session, key: string, fromRevision: bigint) {
    this.#lost = new Promise<never>((_, reject) => {
      this.#reject = reject;
    });
    this.#lost.catch(() => {});
    this.#unlisten = session.onLost((err) =>
      this.#fail(new LockLostError(key, "the session's lease was lost", { cause: err })),
    );
    void this.#watch(session, key, fromRevision);
  }

  /** Rejects with a {@link LockLostError} when the key is lost while held; pending otherwise. */
  get lost(): Promise<never> {
    return this.#lost;
  }

  /** Stops watching (the holder releases the key itself); `lost` then stays pending. */
  stop(): void {
    this.#unlisten?.();
    this.#active = false;
    this.#controller.abort();
  }

  #fail(err: LockLostError): void {
    if (!this.#active) return;
    this.#unlisten?.();
    this.#active = false;
    this.#controller.abort();
    this.#reject(err);
  }

  async #watch(session: Session, key: string, fromRevision: bigint): Promise<void> {
    const watcher = session.etcd.watch(key, { startRevision: fromRevision, signal: this.#controller.signal });
    try {
      for await (const batch of watcher) {
        if (batch.events.some((e) => e.type === Event_EventType.DELETE)) {
          this.#fail(new LockLostError(key, "the key was deleted"));
          return;
        }
      }
      this.#fail(new LockLostError(key, "the watch on the key ended"));
    } catch (err) {
      // A watch that cannot go on (compacted, client closed) can no longer vouch for the key.
      this.#fail(new LockLostError(key, "the watch on the key ended", { cause: err }));
    } finally {
      watcher.close();
    }
  }
}
