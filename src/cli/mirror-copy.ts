import {
  type DeleteOp,
  type Etcd,
  type MirrorBatch,
  op,
  type PutOp,
  type WatchEvent,
} from "../client/index.js";

/**
 * Writes what `etcd.mirror()` delivers to a destination cluster, as etcdctl's `make-mirror` does: the
 * read's keys, then each source revision's changes in one txn (split where a revision holds more than
 * `maxTxnOps` changes, as etcdctl splits it), each key moved from `prefix` to `destPrefix`.
 */
export class MirrorCopy {
  readonly #dest: Etcd;
  readonly #prefix: Uint8Array;
  readonly #destPrefix: Uint8Array;
  readonly #maxTxnOps: number;
  /** Keys and changes written so far (what etcdctl prints). */
  total = 0;

  constructor(dest: Etcd, prefix: Uint8Array, destPrefix: Uint8Array, maxTxnOps: number) {
    this.#dest = dest;
    this.#prefix = prefix;
    this.#destPrefix = destPrefix;
    this.#maxTxnOps = maxTxnOps;
  }

  /** Writes one batch; resolves once the destination has it. */
  async apply(batch: MirrorBatch): Promise<void> {
    if (batch.type === "base") {
      // The read's keys are distinct: any grouping is the same; txns of maxTxnOps save round trips.
      const puts = batch.kvs.map((kv) => op.put(this.#moved(kv.key), kv.value));
      await this.#commit(puts);
    } else if (batch.type === "changes") {
      let start = 0;
      const events = batch.events;
      // One txn per source revision, so the destination never shows half of one.
      for (let i = 1; i <= events.length; i++) {
        if (i < events.length && events[i]!.kv.modRevision === events[start]!.kv.modRevision) continue;
        await this.#commit(events.slice(start, i).map((e) => this.#op(e)));
        start = i;
      }
    }
  }

  #op(event: WatchEvent): PutOp | DeleteOp {
    const key = this.#moved(event.kv.key);
    return event.type === "put" ? op.put(key, event.kv.value) : op.delete(key);
  }

  async #commit(ops: (PutOp | DeleteOp)[]): Promise<void> {
    for (let at = 0; at < ops.length; at += this.#maxTxnOps) {
      const part = ops.slice(at, at + this.#maxTxnOps);
      await this.#dest
        .txn()
        .onSuccess(...part)
        .commit();
      this.total += part.length;
    }
  }

  /** `key` with the source prefix replaced by the destination's. */
  #moved(key: Uint8Array): Uint8Array {
    const moved = new Uint8Array(this.#destPrefix.length + key.length - this.#prefix.length);
    moved.set(this.#destPrefix);
    moved.set(key.subarray(this.#prefix.length), this.#destPrefix.length);
    return moved;
  }
}
