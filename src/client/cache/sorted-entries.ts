import type { KeyValue as KeyValuePb } from "../../gen/mvccpb/kv_pb.js";
import { KeyValue } from "../kv/key-value.js";
import { fromByteString } from "./byte-string.js";

/**
 * Entries per leaf of the key order. 100,000 keys make about 1,000 leaves: an insert or delete is two
 * binary searches, a shift of at most 128 slot numbers, and now and then a splice of the leaf list.
 */
const CAPACITY = 128;
/** Two neighbouring leaves that hold this many entries or fewer together are merged into one. */
const MERGE_AT = CAPACITY / 2;
/** Numbers kept per entry: create revision, mod revision, version, lease. */
const FIELDS = 4;
/** Slots made at first; the columns double when full. */
const INITIAL_SLOTS = 64;
/** Below a quarter of the slots in use (and above this many slots), the columns are compacted. */
const COMPACT_ABOVE = 4096;

/** One run of the key order: slot numbers, sorted by their entries' keys. */
interface Leaf {
  slots: number[];
}

/**
 * The cache's store. Each entry lives in a slot of three columns: its key and value as byte strings (see
 * byte-string.ts) and its revisions, version and lease in one typed array; no object per entry. A `Map`
 * from key to slot makes a change of a known key O(1) (a hash lookup and a few writes, the same at
 * 10,000 keys as at 100,000); the key order is kept apart, as sorted leaves of at most 128 slot numbers
 * (a B+-tree's bottom level with a flat index, like Python's sortedcontainers), touched only when a key
 * comes or goes: O(log n) plus a shift inside one leaf. Deletes merge sparse leaves and compact sparse
 * columns, so memory per entry stays bounded whatever the history.
 */
export class SortedEntries {
  #index = new Map<string, number>();
  #keys: string[] = [];
  #values: string[] = [];
  #numbers = new BigInt64Array(INITIAL_SLOTS * FIELDS);
  /** Slots freed by deletes, reused first. */
  #free: number[] = [];
  /** Never empty; only the store's single leaf may hold no slot. */
  #leaves: Leaf[] = [{ slots: [] }];

  /** Number of keys. */
  get size(): number {
    return this.#index.size;
  }

  /** The entry of `key` (a byte string) as a {@link KeyValue} with bytes of its own; undefined if absent. */
  get(key: string): KeyValue | undefined {
    const slot = this.#index.get(key);
    return slot === undefined ? undefined : this.#keyValue(slot);
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
    const known = this.#index.get(key);
    if (known !== undefined) {
      this.#values[known] = value;
      this.#write(known, createRevision, modRevision, version, lease);
      return false;
    }
    const slot = this.#allocate();
    this.#keys[slot] = key;
    this.#values[slot] = value;
    this.#write(slot, createRevision, modRevision, version, lease);
    this.#index.set(key, slot);
    this.#insertInOrder(key, slot);
    return true;
  }

  /** Deletes `key`; true when it was there. */
  delete(key: string): boolean {
    const slot = this.#index.get(key);
    if (slot === undefined) return false;
    this.#index.delete(key);
    this.#removeFromOrder(key);
    this.#keys[slot] = "";
    this.#values[slot] = "";
    this.#free.push(slot);
    if (this.#keys.length > COMPACT_ABOVE && this.#index.size < this.#keys.length / 4) this.#compact();
    return true;
  }

  /** Drops every entry. */
  clear(): void {
    this.#index = new Map();
    this.#keys = [];
    this.#values = [];
    this.#numbers = new BigInt64Array(INITIAL_SLOTS * FIELDS);
    this.#free = [];
    this.#leaves = [{ slots: [] }];
  }

  /** A cursor at the first entry whose key is >= `from` (a byte string; "" = the first entry). */
  cursor(from = ""): EntryCursor {
    const index = this.#leafFor(from);
    return new EntryCursor(this, this.#leaves, index, this.#lowerBound(this.#leaves[index]!.slots, from));
  }

  /** @internal The key in `slot`. */
  _key(slot: number): string {
    return this.#keys[slot]!;
  }

  /** @internal The mod revision in `slot`. */
  _modRevision(slot: number): bigint {
    return this.#numbers[slot * FIELDS + 1]!;
  }

  /** @internal The entry in `slot` as a {@link KeyValue} with bytes of its own. */
  _keyValue(slot: number): KeyValue {
    return this.#keyValue(slot);
  }

  #keyValue(slot: number): KeyValue {
    const base = slot * FIELDS;
    const numbers = this.#numbers;
    // KeyValue reads these six fields only; the protobuf message type is just its declared input.
    return new KeyValue({
      key: fromByteString(this.#keys[slot]!),
      value: fromByteString(this.#values[slot]!),
      createRevision: numbers[base]!,
      modRevision: numbers[base + 1]!,
      version: numbers[base + 2]!,
      lease: numbers[base + 3]!,
    } as KeyValuePb);
  }

  #write(slot: number, createRevision: bigint, modRevision: bigint, version: bigint, lease: bigint): void {
    const base = slot * FIELDS;
    const numbers = this.#numbers;
    numbers[base] = createRevision;
    numbers[base + 1] = modRevision;
    numbers[base + 2] = version;
    numbers[base + 3] = lease;
  }

  /** A free slot: a reused one, else the next one (the numbers column doubles when full). */
  #allocate(): number {
    const reused = this.#free.pop();
    if (reused !== undefined) return reused;
    const slot = this.#keys.length;
    if ((slot + 1) * FIELDS > this.#numbers.length) {
      const grown = new BigInt64Array(this.#numbers.length * 2);
      grown.set(this.#numbers);
      this.#numbers = grown;
    }
    this.#keys.push("");
    this.#values.push("");
    return slot;
  }

  /** First index in `slots` whose key is >= `key`. */
  #lowerBound(slots: readonly number[], key: string): number {
    const keys = this.#keys;
    let lo = 0;
    let hi = slots.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (keys[slots[mid]!]! < key) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  /** Index of the leaf that holds `key`, or would: the last leaf whose first key is <= `key` (else 0). */
  #leafFor(key: string): number {
    const leaves = this.#leaves;
    const keys = this.#keys;
    let lo = 0;
    let hi = leaves.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >>> 1;
      if (keys[leaves[mid]!.slots[0]!]! <= key) lo = mid;
      else hi = mid - 1;
    }
    return lo;
  }

  #insertInOrder(key: string, slot: number): void {
    const index = this.#leafFor(key);
    let leaf = this.#leaves[index]!;
    let at = this.#lowerBound(leaf.slots, key);
    if (leaf.slots.length === CAPACITY) {
      if (at === CAPACITY && index === this.#leaves.length - 1) {
        // Keys arriving in order (a first read) fill each leaf before the next one starts.
        leaf = { slots: [] };
        this.#leaves.push(leaf);
        at = 0;
      } else {
        const half = CAPACITY >>> 1;
        const right = { slots: leaf.slots.slice(half) };
        leaf.slots.length = half;
        this.#leaves.splice(index + 1, 0, right);
        if (at > half) {
          at -= half;
          leaf = right;
        }
      }
    }
    leaf.slots.splice(at, 0, slot);
  }

  #removeFromOrder(key: string): void {
    const leaves = this.#leaves;
    const index = this.#leafFor(key);
    const leaf = leaves[index]!;
    leaf.slots.splice(this.#lowerBound(leaf.slots, key), 1);
    if (leaves.length === 1) return;
    if (leaf.slots.length === 0) {
      leaves.splice(index, 1);
      return;
    }
    const left = leaves[index - 1];
    if (left && left.slots.length + leaf.slots.length <= MERGE_AT) {
      for (const s of leaf.slots) left.slots.push(s);
      leaves.splice(index, 1);
      return;
    }
    const right = leaves[index + 1];
    if (right && leaf.slots.length + right.slots.length <= MERGE_AT) {
      for (const s of right.slots) leaf.slots.push(s);
      leaves.splice(index + 1, 1);
    }
  }

  /** Moves every entry into fresh columns, in key order, with no free slot left (O(n), after many deletes). */
  #compact(): void {
    const next = new SortedEntries();
    for (const leaf of this.#leaves)
      for (const slot of leaf.slots) {
        const base = slot * FIELDS;
        const n = this.#numbers;
        next.set(this.#keys[slot]!, this.#values[slot]!, n[base]!, n[base + 1]!, n[base + 2]!, n[base + 3]!);
      }
    this.#index = next.#index;
    this.#keys = next.#keys;
    this.#values = next.#values;
    this.#numbers = next.#numbers;
    this.#free = next.#free;
    this.#leaves = next.#leaves;
  }
}

/** Walks entries in key order from where {@link SortedEntries.cursor} put it. Valid until the store changes. */
export class EntryCursor {
  readonly #store: SortedEntries;
  readonly #leaves: readonly Leaf[];
  #index: number;
  #at: number;

  /** @internal */
  constructor(store: SortedEntries, leaves: readonly Leaf[], index: number, at: number) {
    this.#store = store;
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
    return this.#store._key(this.#slot());
  }

  /** The current entry's mod revision. */
  get modRevision(): bigint {
    return this.#store._modRevision(this.#slot());
  }

  /** The current entry as a {@link KeyValue} with bytes of its own. */
  keyValue(): KeyValue {
    return this.#store._keyValue(this.#slot());
  }

  /** Moves to the next entry. */
  next(): void {
    this.#at++;
    this.#settle();
  }

  #slot(): number {
    return this.#leaves[this.#index]!.slots[this.#at]!;
  }

  /** Steps over the end of a leaf (and over the empty single leaf of an empty store). */
  #settle(): void {
    while (this.#index < this.#leaves.length && this.#at >= this.#leaves[this.#index]!.slots.length) {
      this.#index++;
      this.#at = 0;
    }
  }
}
