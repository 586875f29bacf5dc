import { EventEmitter } from "../core/event-emitter.js";
import { Lifecycle } from "../core/lifecycle.js";
import { broken, done, type FollowBroken, type FollowDone, follow, readAt } from "../follow/follow.js";
import { LockLostError } from "./errors.js";
import { isRetryable } from "./key.js";
import type { Session } from "./session.js";

/**
 * One hold of a lock or leadership key, a live object of its own: it ends with a {@link LockLostError}
 * when the key goes (the session's lease is lost,
 * or the key is deleted by anyone but `stop()`'s caller (a revoke from elsewhere, an operator's delete).
 * The watch usually tells first: a lease revoked on another client deletes the key at once, while the
 * keepalive only learns it at its next refresh.
 *
 * A watch that breaks (refused after a token expiry or a restart, canceled by the server, compacted)
 * is not a loss: the key is read (with backoff, 100 ms doubling to 5 s, while reads fail) and, if it is
 * still the one created at `createRevision`, watched again from that read. Only the session's end, the
 * key's deletion or a closed client end the hold; `stop()` ends it cleanly (the holder releases the key).
 */
export class HoldMonitor extends EventEmitter {
  readonly #life: Lifecycle<"held">;
  readonly #controller = new AbortController();
  #active = true;
  #unlisten: (() => void) | undefined;

  constructor(what: string, session: Session, key: string, createRevision: bigint, fromRevision: bigint) {
    super();
    this.#life = new Lifecycle<"held">(this, what, "held");
    this.#unlisten = session._onEnd((err) =>
      // A session this process closed ends its holds as lost too: the keys went with its lease.
      this.#fail(
        new LockLostError(key, err ? "the session's lease was lost" : "the session was closed", {
          cause: err,
        }),
      ),
    );
    if (this.#active) void this.#watch(session, key, createRevision, fromRevision);
  }

  /** Resolves when the hold ends: a {@link LockLostError} when lost, `undefined` after `stop()`. */
  get closed(): Promise<Error | undefined> {
    return this.#life.closed;
  }

  /** Aborted when the hold ends. */
  get signal(): AbortSignal {
    return this.#life.signal;
  }

  /** Calls `listener` synchronously when the hold ends. */
  onEnd(listener: (error: Error | undefined) => void): () => void {
    return this.#life.onEnd(listener);
  }

  /** Stops watching and ends the hold cleanly (the holder releases the key itself). */
  stop(): void {
    this.#unlisten?.();
    this.#active = false;
    this.#controller.abort();
    this.#life.end();
  }

  #fail(err: LockLostError): void {
    if (!this.#active) return;
    this.#unlisten?.();
    this.#active = false;
    this.#controller.abort();
    this.#life.end(err);
  }

  /** Follows the key (the one follower): a watch from `fromRevision`, then a read and a watch after each break. */
  async #watch(session: Session, key: string, createRevision: bigint, fromRevision: bigint): Promise<void> {
    const signal = this.#controller.signal;
    await follow<undefined>(
      {
        // The last watch broke: is the key still ours? Then watch on from this read.
        read: async (signal) => {
          const res = await session.etcd.range(key, { signal });
          if (res.kvs[0]?.createRevision === createRevision) return readAt(res.revision);
          this.#fail(new LockLostError(key, "the key was deleted"));
          return done(undefined);
        },
        watch: (from, signal) => this.#watchFrom(session, key, from, signal),
        failed: (err, during) => {
          if (isRetryable(err)) return true;
          this.#fail(
            during === "read"
              ? new LockLostError(key, "the key can no longer be read", { cause: err })
              : new LockLostError(key, "the watch on the key ended", { cause: err }),
          );
          return false;
        },
      },
      { signal, from: fromRevision },
    );
  }

  /** One watch of the key, until a delete (the hold is lost), a failure (`broken`) or a clean end (lost too). */
  async #watchFrom(
    session: Session,
    key: string,
    from: bigint,
    signal: AbortSignal,
  ): Promise<FollowBroken | FollowDone<undefined>> {
    try {
      const watcher = session.etcd.watch(key, { startRevision: from, signal });
      try {
        for await (const batch of watcher) {
          if (batch.events.some((e) => e.type === "delete")) {
            this.#fail(new LockLostError(key, "the key was deleted"));
            return done(undefined);
          }
        }
      } finally {
        void watcher.close();
      }
    } catch (err) {
      return broken(err);
    }
    // Ended cleanly: the client is closing.
    if (!signal.aborted) this.#fail(new LockLostError(key, "the watch on the key ended"));
    return done(undefined);
  }
}
