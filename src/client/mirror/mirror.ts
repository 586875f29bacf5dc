import { ClosedError, CompactedError, DeadlineExceededError, InvalidArgumentError } from "../core/errors.js";
import { EventEmitter } from "../core/event-emitter.js";
import { isUnavailable } from "../core/failure.js";
import { Lifecycle } from "../core/lifecycle.js";
import { QueuedIterator } from "../core/queued-iterator.js";
import { checkInteger, checkOptionsObject, checkSignal } from "../core/validation.js";
import { broken, done, follow, readAt } from "../follow/follow.js";
import { type Bytes, toBytes } from "../kv/bytes.js";
import type { MirrorBatch, MirrorEvents, MirrorOptions, MirrorSource, MirrorState } from "./types.js";

/**
 * A copy feed of every key under a prefix, as etcd's Go `mirror.Syncer` gives it: the prefix read at
 * one revision R, in pages (`base` batches, then a `synced` batch naming R), then every change from
 * R + 1 on (`changes` batches), without loss or duplicate across connection breaks (the watch resumes
 * from its last delivered revision). Apply the batches in order to another cluster and it holds the
 * prefix as this one held it at the last batch's revision. Create it with `etcd.mirror(prefix)`.
 *
 * Pull-driven: the next page is read, and the watch's next events taken, only once the loop has taken
 * what is buffered (at most two pages or two watch responses; a watch whose events are not taken is
 * paused on the server). A loop that writes each batch to the destination before taking the next one
 * holds little in memory however large the prefix.
 *
 * A live object (docs/client.md): `state`, `closed`, `signal`, `close()`, the `state` and `close`
 * events. While open it holds the process (as a watch does). One `for await` at a time; leaving it
 * (`break`) closes the mirror.
 */
export class Mirror
  extends EventEmitter<MirrorEvents>
  implements AsyncIterable<MirrorBatch>, AsyncDisposable
{
  readonly #etcd: MirrorSource;
  readonly #prefix: Uint8Array;
  readonly #pageSize: number;
  readonly #resyncOnCompaction: boolean;
  readonly #life: Lifecycle<Exclude<MirrorState, "closed">>;
  /** Aborted at the end: stops the read in flight, the watch and the backoff. */
  readonly #stop = new AbortController();
  readonly #queue: QueuedIterator<MirrorBatch>;
  /** Wakes the run loop waiting for the consumer to take what is buffered. */
  #wakeProducer: (() => void) | undefined;
  /** True once the consumer may hold keys (a `base` batch went out, or it started at `startRevision`): a later read is a resync. */
  #delivered: boolean;
  /** Ends the hold on the process and the client-close hook. */
  readonly #detach: () => void;
  readonly #userSignal: AbortSignal | undefined;
  /** The run loop; settles (never rejects) once the mirror let go of everything. */
  readonly #finished: Promise<void>;

  /** @internal Use `etcd.mirror(prefix, options)`. */
  constructor(etcd: MirrorSource, prefix: Bytes, options: MirrorOptions = {}) {
    super();
    checkOptionsObject(options);
    // Before anything is attached: a bad signal must not leave a half-made mirror on the client.
    checkSignal(options.signal);
    this.#etcd = etcd;
    this.#prefix = toBytes(prefix, "prefix").slice();
    this.#pageSize = Number(checkInteger(options.pageSize ?? 1000, "pageSize", 1));
    const startRevision =
      options.startRevision === undefined
        ? undefined
        : checkInteger(options.startRevision, "startRevision", 1);
    const onCompacted = options.onCompacted ?? "error";
    if (onCompacted !== "error" && onCompacted !== "resync")
      throw new InvalidArgumentError(
        "onCompacted",
        `must be "error" or "resync", got ${String(onCompacted)}`,
      );
    this.#resyncOnCompaction = onCompacted === "resync";
    this.#delivered = startRevision !== undefined;
    this.#life = new Lifecycle(this, "mirror", startRevision === undefined ? "reading" : "following");
    this.#queue = new QueuedIterator<MirrorBatch>({
      weigh: weigh,
      // Two pages (or watch responses of a page's size) at most: then the producer waits.
      highWaterMark: this.#pageSize,
      onDrain: () => this.#wake(),
      // The loop left (`break`): nobody takes batches any more.
      onStop: () => this.#end(undefined),
    });
    // Holds the process until closed; a client closed first closes the mirror with it.
    this.#detach = etcd._attach(() => this.#end(undefined));
    this.#userSignal = options.signal;
    if (options.signal?.aborted) {
      this.#end(undefined);
      this.#finished = Promise.resolve();
      return;
    }
    options.signal?.addEventListener("abort", this.#onAbort, { once: true });
    this.#finished = this.#run(startRevision);
  }

  readonly #onAbort = () => this.#end(undefined);

  /** Where the mirror is (see {@link MirrorState}). */
  get state(): MirrorState {
    return this.#life.state;
  }

  /** Settles once, when the mirror ends: `undefined` when this process closed it (or its client), else the error. Never rejects. */
  get closed(): Promise<Error | undefined> {
    return this.#life.closed;
  }

  /** Aborted when the mirror ends; the reason is its error, or a `ClosedError`. */
  get signal(): AbortSignal {
    return this.#life.signal;
  }

  /**
   * The batches, in order. Ends when the mirror ends: cleanly when this process closed it (after the
   * batches already buffered), else by throwing its error (`WatchCompactedError`, `CompactedError`,
   * `PermissionDeniedError`, `AuthFailedError`, ...). A second `for await` at once throws `InvalidUsageError`.
   */
  [Symbol.asyncIterator](): AsyncIterator<MirrorBatch> {
    return this.#queue[Symbol.asyncIterator]();
  }

  /** Closes the mirror: the read or watch stops, iteration ends. Idempotent; never rejects. */
  close(): Promise<void> {
    this.#end(undefined);
    return this.#finished;
  }

  /** Same as `close()`, for `await using`. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  /** Read in pages, then watch from the read's revision + 1 (the one follower); read again after a compaction when asked to. */
  async #run(startRevision: bigint | undefined): Promise<void> {
    const range = { prefix: this.#prefix };
    await follow<undefined>(
      {
        read: async (signal) => {
          this.#life.set("reading");
          const resync = this.#delivered;
          const scan = this.#etcd._scan(range, { pageSize: this.#pageSize, signal });
          let page = await scan.next();
          for (; !page.done; page = await scan.next()) {
            this.#delivered = true;
            await this.#deliver({ type: "base", kvs: page.value, resync });
            if (signal.aborted) return readAt(0n);
          }
          await this.#deliver({ type: "synced", revision: page.value, resync });
          return readAt(page.value);
        },
        watch: async (from, signal) => {
          this.#life.set("following");
          // onCompacted "error": a compaction is this loop's to handle (read again, or end).
          const watcher = this.#etcd.watch(range, { startRevision: from, signal });
          try {
            for await (const batch of watcher) {
              const last = batch.events[batch.events.length - 1];
              // Progress notices (another watch on the stream asked for one) carry nothing to copy.
              if (last === undefined) continue;
              await this.#deliver({ type: "changes", revision: last.kv.modRevision, events: batch.events });
              if (signal.aborted) break;
            }
            // A watch ends cleanly only when this mirror or its client closed it.
            return done(undefined);
          } catch (err) {
            return broken(err);
          } finally {
            void watcher.close();
          }
        },
        failed: (error, during) => this.#retries(error, during),
      },
      { signal: this.#stop.signal, from: startRevision },
    );
    this.#end(undefined);
  }

  /** A read or the watch failed: true to read again (with backoff), false when the mirror ended with it. */
  #retries(error: unknown, during: "read" | "watch"): boolean {
    const err = error instanceof Error ? error : new Error(String(error));
    if (err instanceof ClosedError) {
      this.#end(undefined);
      return false;
    }
    // A compaction passed the revision to go on from: read the whole prefix again, if the owner asked.
    if (err instanceof CompactedError && this.#resyncOnCompaction) {
      this.#life.set("reading");
      return true;
    }
    // etcd unreachable for longer than the client's retries: the read is retried (the watch resumes by itself).
    if (during === "read" && (isUnavailable(err) || err instanceof DeadlineExceededError)) {
      this.#life.set("unavailable");
      this.emit("unavailable", err);
      return true;
    }
    this.#end(err);
    return false;
  }

  /** Hands `batch` to the consumer; waits while what is buffered is over the bound (or until the end). */
  async #deliver(batch: MirrorBatch): Promise<void> {
    if (this.#life.ended || this.#queue.push(batch)) return;
    await new Promise<void>((resolve) => {
      this.#wakeProducer = resolve;
    });
  }

  #wake(): void {
    const wake = this.#wakeProducer;
    this.#wakeProducer = undefined;
    wake?.();
  }

  /** Ends the mirror (once): releases the hold, the read and the watch; iteration ends after what is buffered. */
  #end(error: Error | undefined): void {
    if (!this.#life.end(error)) return;
    this.#detach();
    this.#userSignal?.removeEventListener("abort", this.#onAbort);
    this.#stop.abort();
    this.#queue.end(error);
    this.#wake();
  }
}

/** Buffered weight of a batch: its keys or events (at least 1). */
function weigh(batch: MirrorBatch): number {
  return Math.max(
    1,
    batch.type === "base" ? batch.kvs.length : batch.type === "changes" ? batch.events.length : 0,
  );
}
