/** What an entry costs in the table beyond its name and value (RFC 7541 section 4.1). */
export const ENTRY_OVERHEAD = 32;

/** Slots of a new table; it doubles as entries come. */
const INITIAL_SLOTS = 8;

/**
 * The decoder's dynamic table (RFC 7541 section 2.3.2): newest entry first, evicting the oldest to stay
 * within `maxSize`. A ring of slots that doubles when full: every entry costs at least 32 bytes, so it
 * never needs more than `limit / 32` slots, and it starts small because gRPC peers put few entries in
 * it (and a connection should not pay for a table its peer never fills). Names and values are strings
 * of one character per byte, so `length` is their size in bytes.
 */
export class DynamicTable {
  #names: string[];
  #values: string[];
  /** Slot of the newest entry. */
  #newest = -1;
  #count = 0;
  #size = 0;
  #maxSize: number;

  /** A table whose size may never exceed `limit` (our SETTINGS_HEADER_TABLE_SIZE), starting at `limit`. */
  constructor(limit: number) {
    this.#names = new Array<string>(INITIAL_SLOTS).fill("");
    this.#values = new Array<string>(INITIAL_SLOTS).fill("");
    this.#maxSize = limit;
  }

  /** How many entries it holds. */
  get length(): number {
    return this.#count;
  }

  /** The sum of its entries' sizes (name + value + 32 each). */
  get size(): number {
    return this.#size;
  }

  /** The size it may grow to, as the last size update set it. */
  get maxSize(): number {
    return this.#maxSize;
  }

  /** The slot of the entry at `index` (0 = newest); the caller checked `index < length`. */
  #slot(index: number): number {
    const capacity = this.#names.length;
    return (this.#newest - index + capacity) % capacity;
  }

  /** The name of the entry at `index` (0 = newest; the caller checked `index < length`). */
  name(index: number): string {
    return this.#names[this.#slot(index)]!;
  }

  /** The value of the entry at `index` (0 = newest; the caller checked `index < length`). */
  value(index: number): string {
    return this.#values[this.#slot(index)]!;
  }

  /** Sets a new maximum size (the caller checked it against the limit), evicting what no longer fits. */
  setMaxSize(maxSize: number): void {
    this.#maxSize = maxSize;
    this.#evictTo(maxSize);
  }

  /**
   * Adds an entry as the newest, evicting the oldest ones to make room; an entry larger than the whole
   * table empties it and is not added (RFC 7541 section 4.4).
   */
  add(name: string, value: string): void {
    const size = name.length + value.length + ENTRY_OVERHEAD;
    if (size > this.#maxSize) {
      this.#evictTo(0);
      return;
    }
    this.#evictTo(this.#maxSize - size);
    if (this.#count === this.#names.length) this.#grow();
    this.#newest = (this.#newest + 1) % this.#names.length;
    this.#names[this.#newest] = name;
    this.#values[this.#newest] = value;
    this.#count++;
    this.#size += size;
  }

  /** Doubles the ring, the oldest entry first in the new one (so the newest is at `count - 1`). */
  #grow(): void {
    const names = new Array<string>(this.#names.length * 2).fill("");
    const values = new Array<string>(names.length).fill("");
    for (let i = 0; i < this.#count; i++) {
      const from = this.#slot(this.#count - 1 - i);
      names[i] = this.#names[from]!;
      values[i] = this.#values[from]!;
    }
    this.#names = names;
    this.#values = values;
    this.#newest = this.#count - 1;
  }

  /** Evicts the oldest entries until the table's size is at most `size`. */
  #evictTo(size: number): void {
    while (this.#size > size) {
      const oldest = this.#slot(this.#count - 1);
      this.#size -= this.#names[oldest]!.length + this.#values[oldest]!.length + ENTRY_OVERHEAD;
      // Drop the strings so an evicted entry's memory goes with it.
      this.#names[oldest] = "";
      this.#values[oldest] = "";
      this.#count--;
    }
  }
}
