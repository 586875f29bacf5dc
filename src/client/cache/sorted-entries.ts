import type { KeyValue as KeyValuePb } from "../../gen/mvccpb/kv_pb.js";
import { KeyValue } from "../kv/key-value.js";
import { fromByteString } from "./byte-string.js";

/**
 * Entries per leaf. 100,000 keys make about 1,000 leaves: a lookup is two binary searches, an insert
 * shifts at most 128 slots, a split or merge splices a list of 1,000 references.
 */
const CAPACITY = 128;
/** Two neighbouring leaves that hold this many entries or fewer together are merged into one. */
const MERGE_AT = CAPACITY / 2;
/** Numbers kept per entry: create revision, mod revision, version, lease. */
const FIELDS = 4;

/**
 * One run of entries in key order. The entry at index `i` is `keys[i]`, `values[i]` and
 * `numbers[i * 4 .. i * 4 + 3]`: no object per entry, and the 64-bit numbers packed in one typed array.
 */
class Leaf {
  keys: string[] = [];
  values: string[] = [];
  readonly numbers = new BigInt64Array(CAPACITY * FIELDS);
}

/** First index in sorted `keys` whose key is >= `key`. */
function lowerBound(keys: readonly string[], key: string): number {
  let lo = 0;
  let hi = keys.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (keys[mid]! < key) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/**
 * The cache's store: key-values in key order, keys and values as byte strings (see byte-string.ts),
 * revisions, version and lease in the leaf's typed array. Sorted leaves of at most 128 entries (a
 * B+-tree's bottom level with a flat index, like Python's sortedcontainers): get, set and delete cost
 * O(log n) plus a shift inside one leaf, and a range walks leaves in order. Deletes merge sparse
 * neighbours, so memory per entry stays bounded whatever the history.
 */
export class SortedEntries {
  /** Never empty; only the store's single leaf may hold no entry. */
  #leaves: Leaf[] = [new Leaf()];
  #size = 0;
  #bytes = 0;

  /** Number of keys. */
  get size(): number {
    return this.#size;
  }

  /** Bytes of every key and value held. */
  get bytes(): number {
    return this.#bytes;
  }

  /** The entry of `key` (a byte string) as a {@link KeyValue} with bytes of its own; undefined if absent. */
  get(key: string): KeyValue | undefined {
    const leaf = this.#leaves[this.#leafFor(key)]!;
    const at = lowerBound(leaf.keys, key);
    return leaf.keys[at] === key ? keyValueAt(leaf, at) : undefined;
  }

  /** Puts an entry (key and value as byte strings); true when the key is new. */
  set(
    key: string,
    value: string,
    createRevision: bigint,
    modRevision: bigint,
    version: bigint,
    lease: bigint,
  ): boolean {
    const index = this.#leafFor(key);
    let leaf = this.#leaves[index]!;
    let at = lowerBound(leaf.keys, key);
    if (leaf.keys[at] === key) {
      this.#bytes += value.length - leaf.values[at]!.length;
      leaf.values[at] = value;
      writeNumbers(leaf, at, createRevision, modRevision, version, lease);
      return false;
    }
    if (leaf.keys.length === CAPACITY) {
      if (at === CAPACITY && index === this.#leaves.length - 1) {
        // Keys arriving in order (a first read) fill each leaf before the next one starts.
        leaf = new Leaf();
        this.#leaves.push(leaf);
        at = 0;
      } else {
        const right = this.#split(index);
        if (at > leaf.keys.length) {
          at -= leaf.keys.length;
          leaf = right;
        }
      }
    }
    const n = leaf.keys.length;
    leaf.keys.splice(at, 0, key);
    leaf.values.splice(at, 0, value);
    if (at < n) leaf.numbers.copyWithin((at + 1) * FIELDS, at * FIELDS, n * FIELDS);
    writeNumbers(leaf, at, createRevision, modRevision, version, lease);
    this.#size++;
    this.#bytes += key.length + value.length;
    return true;
  }

  /** Deletes `key`; true when it was there. */
  delete(key: string): boolean {
    const index = this.#leafFor(key);
    const leaf = this.#leaves[index]!;
    const at = lowerBound(leaf.keys, key);
    if (leaf.keys[at] !== key) return false;
    const n = leaf.keys.length;
    this.#bytes -= key.length + leaf.values[at]!.length;
    leaf.keys.splice(at, 1);
    leaf.values.splice(at, 1);
    leaf.numbers.copyWithin(at * FIELDS, (at + 1) * FIELDS, n * FIELDS);
    this.#size--;
    this.#rebalance(index);
    return true;
  }

  /** Drops every entry. */
  clear(): void {
    this.#leaves = [new Leaf()];
    this.#size = 0;
    this.#bytes = 0;
  }

  /** A cursor at the first entry whose key is >= `from` (a byte string; "" = the first entry). */
  cursor(from = ""): EntryCursor {
    const index = this.#leafFor(from);
    return new EntryCursor(this.#leaves, index, lowerBound(this.#leaves[index]!.keys, from));
  }

  /** Index of the leaf that holds `key`, or would: the last leaf whose first key is <= `key` (else 0). */
  #leafFor(key: string): number {
    const leaves = this.#leaves;
    let lo = 0;
    let hi = leaves.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >>> 1;
      if (leaves[mid]!.keys[0]! <= key) lo = mid;
      else hi = mid - 1;
    }
    return lo;
  }

  /** Moves the upper half of a full leaf into a new leaf after it; returns the new leaf. */
  #split(index: number): Leaf {
    const leaf = this.#leaves[index]!;
    const half = CAPACITY >>> 1;
    const right = new Leaf();
    right.keys = leaf.keys.slice(half);
    right.values = leaf.values.slice(half);
    right.numbers.set(leaf.numbers.subarray(half * FIELDS, CAPACITY * FIELDS));
    leaf.keys.length = half;
    leaf.values.length = half;
    this.#leaves.splice(index + 1, 0, right);
    return right;
  }

  /** After a delete in leaf `index`: drops it when empty, or merges it with a neighbour when both are sparse. */
  #rebalance(index: number): void {
    const leaves = this.#leaves;
    if (leaves.length === 1) return;
    const leaf = leaves[index]!;
    if (leaf.keys.length === 0) {
      leaves.splice(index, 1);
      return;
    }
    const left = leaves[index - 1];
    if (left && left.keys.length + leaf.keys.length <= MERGE_AT) {
      append(left, leaf);
      leaves.splice(index, 1);
      return;
    }
    const right = leaves[index + 1];
    if (right && leaf.keys.length + right.keys.length <= MERGE_AT) {
      append(leaf, right);
      leaves.splice(index + 1, 1);
    }
  }
}

/**
 * Walks entries in key order from where {@link SortedEntries.cursor} put it. Valid until the store
 * changes.
 */
export class EntryCursor {
  readonly #leaves: readonly Leaf[];
  #index: number;
  #at: number;

  /** @internal */
  constructor(leaves: readonly Leaf[], index: number, at: number) {
    this.#leaves = leaves;
    this.#index = index;
    this.#at = at;
    this.#settle();
  }

  /** True once past the last entry. */
  get done(): boolean {
    return this.#index >= this.#leaves.length;
  }

  /** The current entry's key (a byte string). */
  get key(): string {
    return this.#leaves[this.#index]!.keys[this.#at]!;
  }

  /** The current entry's mod revision. */
  get modRevision(): bigint {
    return this.#leaves[this.#index]!.numbers[this.#at * FIELDS + 1]!;
  }

  /** The current entry as a {@link KeyValue} with bytes of its own. */
  keyValue(): KeyValue {
    return keyValueAt(this.#leaves[this.#index]!, this.#at);
  }

  /** Moves to the next entry. */
  next(): void {
    this.#at++;
    this.#settle();
  }

  /** Steps over the end of a leaf (and over the empty single leaf of an empty store). */
  #settle(): void {
    while (this.#index < this.#leaves.length && this.#at >= this.#leaves[this.#index]!.keys.length) {
      this.#index++;
      this.#at = 0;
    }
  }
}

function writeNumbers(
  leaf: Leaf,
  at: number,
  createRevision: bigint,
  modRevision: bigint,
  version: bigint,
  lease: bigint,
): void {
  const base = at * FIELDS;
  const numbers = leaf.numbers;
  numbers[base] = createRevision;
  numbers[base + 1] = modRevision;
  numbers[base + 2] = version;
  numbers[base + 3] = lease;
}

/** Appends every entry of `from` to `into` (they fit: merges happen at half a leaf). */
function append(into: Leaf, from: Leaf): void {
  into.numbers.set(from.numbers.subarray(0, from.keys.length * FIELDS), into.keys.length * FIELDS);
  for (let i = 0; i < from.keys.length; i++) {
    into.keys.push(from.keys[i]!);
    into.values.push(from.values[i]!);
  }
}

function keyValueAt(leaf: Leaf, at: number): KeyValue {
  const base = at * FIELDS;
  const numbers = leaf.numbers;
  // KeyValue reads these six fields only; the protobuf message type is just its declared input.
  return new KeyValue({
    key: fromByteString(leaf.keys[at]!),
    value: fromByteString(leaf.values[at]!),
    createRevision: numbers[base]!,
    modRevision: numbers[base + 1]!,
    version: numbers[base + 2]!,
    lease: numbers[base + 3]!,
  } as KeyValuePb);
}
