// The HPACK fuzz's inputs, shared by the fuzz spec (src/client/transport/h2-net/hpack/fuzz.spec.ts) and
// the comparison with Go's decoder (test/interop/hpack-go.test.ts): a seeded PRNG, the RFC 7541
// series, random valid blocks and mutations of them.
import type { HeaderField } from "../../src/client/transport/h2-net/hpack/decoder.js";
import { encodeHeaderBlock } from "../../src/client/transport/h2-net/hpack/encoder.js";
import { STATIC_TABLE } from "../../src/client/transport/h2-net/hpack/static-table.js";
import { concat, hex, rawString } from "./hpack-blocks.js";

/** mulberry32: a small, fast PRNG that is the same on every engine for a seed. */
export class Random {
  #state: number;
  constructor(seed: number) {
    this.#state = seed >>> 0;
  }
  /** A float in [0, 1). */
  next(): number {
    this.#state = (this.#state + 0x6d2b79f5) >>> 0;
    let t = this.#state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32;
  }
  /** An integer in [0, n). */
  int(n: number): number {
    return Math.floor(this.next() * n);
  }
  pick<T>(items: readonly T[]): T {
    return items[this.int(items.length)]!;
  }
  bytes(length: number): Uint8Array {
    return Uint8Array.from({ length }, () => this.int(256));
  }
}

/** Valid blocks: the RFC's, with the table size (and the blocks before them) they need. */
export const RFC_SERIES: { maxTableSize: number; blocks: Uint8Array[] }[] = [
  {
    maxTableSize: 4096,
    blocks: [
      hex("8286 8441 0f77 7777 2e65 7861 6d70 6c65 2e63 6f6d"),
      hex("8286 84be 5808 6e6f 2d63 6163 6865"),
      hex("8287 85bf 400a 6375 7374 6f6d 2d6b 6579 0c63 7573 746f 6d2d 7661 6c75 65"),
    ],
  },
  {
    maxTableSize: 4096,
    blocks: [
      hex("8286 8441 8cf1 e3c2 e5f2 3a6b a0ab 90f4 ff"),
      hex("8286 84be 5886 a8eb 1064 9cbf"),
      hex("8287 85bf 4088 25a8 49e9 5ba9 7d7f 8925 a849 e95b b8e8 b4bf"),
    ],
  },
  {
    maxTableSize: 256,
    blocks: [
      hex(`4882 6402 5885 aec3 771a 4b61 96d0 7abe 9410 54d4 44a8 2005 9504 0b81 66e0 82a6
           2d1b ff6e 919d 29ad 1718 63c7 8f0b 97c8 e9ae 82ae 43d3`),
      hex("4883 640e ffc1 c0bf"),
      hex(`88c1 6196 d07a be94 1054 d444 a820 0595 040b 8166 e084 a62d 1bff c05a 839b d9ab
           77ad 94e7 821d d7f2 e6c7 b335 dfdf cd5b 3960 d5af 2708 7f36 72c1 ab27 0fb5 291f
           9587 3160 65c0 03ed 4ee5 b106 3d50 07`),
    ],
  },
];

/**
 * Fewer than `count` random fields: a third static-table entries, the others names shorter than
 * `nameLength` and values shorter than one of `valueLengths`, of any bytes.
 */
export function randomFields(
  random: Random,
  count: number,
  nameLength: number,
  valueLengths: readonly number[],
): HeaderField[] {
  const text = (n: number) =>
    String.fromCharCode(...Array.from({ length: random.int(n) }, () => random.int(256)));
  return Array.from({ length: random.int(count) }, () =>
    random.int(3) === 0
      ? ([...random.pick(STATIC_TABLE)] as HeaderField)
      : [text(nameLength), text(random.pick(valueLengths))],
  );
}

/** A random valid block: encoder output, indexed literals, references and size updates mixed. */
export function randomValidBlock(random: Random): Uint8Array {
  const parts: Uint8Array[] = [];
  // Size updates: to 0 and back to 4096, or to 4096 alone (the limit of the valid-block check).
  if (random.int(4) === 0) parts.push(random.int(2) === 0 ? hex("20 3fe11f") : hex("3fe11f"));
  parts.push(encodeHeaderBlock(randomFields(random, 6, 12, [8, 40, 300])));
  const inserts = random.int(4);
  for (let added = 1; added <= inserts; added++) {
    // A literal with incremental indexing, then references to the dynamic table's newest entries.
    parts.push(Uint8Array.of(0x40), rawString(`x-${random.int(100)}`), rawString("v".repeat(random.int(60))));
    parts.push(Uint8Array.from({ length: random.int(5) }, () => 0xbe + random.int(Math.min(added, 2))));
  }
  return concat(...parts);
}

/** One mutation of `block`, sometimes spliced with `other`. */
export function mutate(random: Random, block: Uint8Array, other: Uint8Array): Uint8Array {
  const out = Uint8Array.from(block);
  switch (random.int(7)) {
    case 0: // flip 1 to 8 bits
      for (let i = 1 + random.int(8); i > 0 && out.length > 0; i--)
        out[random.int(out.length)]! ^= 1 << random.int(8);
      return out;
    case 1: // set a byte to a random or boundary value
      if (out.length > 0)
        out[random.int(out.length)] = random.pick([0x00, 0x7f, 0x80, 0xff, 0x3f, 0x20, random.int(256)]);
      return out;
    case 2: // truncate
      return out.subarray(0, random.int(out.length + 1));
    case 3: // splice: a prefix of this block, a suffix of the other
      return concat(
        out.subarray(0, random.int(out.length + 1)),
        other.subarray(random.int(other.length + 1)),
      );
    case 4: {
      // repeat a segment many times (list-size and table churn)
      const start = random.int(out.length + 1);
      const segment = out.subarray(start, start + 1 + random.int(8));
      return concat(out, ...Array.from({ length: random.int(200) }, () => segment));
    }
    case 5: // insert random bytes
      return concat(out.subarray(0, random.int(out.length + 1)), random.bytes(1 + random.int(16)), out);
    default: // two mutations
      return mutate(random, mutate(random, out, other), other);
  }
}
