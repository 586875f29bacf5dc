import { describe, expect, it } from "vitest";
import { concat, hex, rawString, toHex } from "../../../../../test/support/hpack-blocks.js";
import { type HeaderField, HpackDecoder, type HpackDecoderOptions } from "./decoder.js";
import { encodeHeaderBlock } from "./encoder.js";
import { HpackError } from "./errors.js";
import { STATIC_TABLE } from "./static-table.js";

// Fuzzing the decoder with random bytes and with mutations (bit flips, byte changes, truncations,
// splices, repeats) of valid blocks: each block must decode to a list within the limits or throw an
// HpackError, nothing else. Bounded by iteration count, never by the clock. Each case comes from its
// own seed, printed on failure: HPACK_FUZZ_SEED=<seed> HPACK_FUZZ_CASES=1 replays exactly that case;
// HPACK_FUZZ_CASES=<n> runs more (or fewer) cases than the CI default.

const CASES = Number(process.env.HPACK_FUZZ_CASES ?? 5000);
const FIRST_SEED = process.env.HPACK_FUZZ_SEED
  ? Number(process.env.HPACK_FUZZ_SEED)
  : Math.floor(Math.random() * 2 ** 32);

/** mulberry32: a small, fast PRNG that is the same on every engine for a seed. */
class Random {
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
const RFC_SERIES: { maxTableSize: number; blocks: Uint8Array[] }[] = [
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

/** A random valid block: encoder output, indexed literals, references and size updates mixed. */
function randomValidBlock(random: Random): Uint8Array {
  const parts: Uint8Array[] = [];
  // Size updates: to 0 and back to 4096, or to 4096 alone (the limit of the valid-block check).
  if (random.int(4) === 0) parts.push(random.int(2) === 0 ? hex("20 3fe11f") : hex("3fe11f"));
  const fields: HeaderField[] = [];
  for (let i = random.int(6); i > 0; i--) {
    const text = (n: number) =>
      String.fromCharCode(...Array.from({ length: random.int(n) }, () => random.int(256)));
    fields.push(
      random.int(3) === 0 ? [...random.pick(STATIC_TABLE)] : [text(12), text(random.pick([8, 40, 300]))],
    );
  }
  parts.push(encodeHeaderBlock(fields));
  for (let added = 1; added <= random.int(4); added++) {
    // A literal with incremental indexing, then references to the dynamic table's newest entries.
    parts.push(Uint8Array.of(0x40), rawString(`x-${random.int(100)}`), rawString("v".repeat(random.int(60))));
    parts.push(Uint8Array.from({ length: random.int(5) }, () => 0xbe + random.int(Math.min(added, 2))));
  }
  return concat(...parts);
}

/** One mutation of `block`, sometimes spliced with `other`. */
function mutate(random: Random, block: Uint8Array, other: Uint8Array): Uint8Array {
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

/** One character per byte: what every decoded name and value must be. */
const BYTES = /^[\0-\xff]*$/;

/** Decodes `block`, asserting the outcome is a list within the limits or an HpackError. */
function decodeChecked(
  decoder: HpackDecoder,
  options: Required<HpackDecoderOptions>,
  block: Uint8Array,
): boolean {
  // Plain checks rather than expect(): they run hundreds of thousands of times.
  let fields: HeaderField[];
  try {
    fields = decoder.decode(block);
  } catch (error) {
    if (!(error instanceof HpackError)) throw error;
    if (error.code !== "COMPRESSION_ERROR" && error.code !== "HEADER_LIST_TOO_LARGE")
      throw new Error(`decoder threw code ${error.code} for ${toHex(block)}`);
    return false;
  }
  let listSize = 0;
  for (const [name, value] of fields) {
    listSize += name.length + value.length + 32;
    if (!BYTES.test(name) || !BYTES.test(value))
      throw new Error(`a field beyond U+00FF from ${toHex(block)}`);
  }
  if (listSize > options.maxHeaderListSize)
    throw new Error(`list of ${listSize} bytes above ${options.maxHeaderListSize} from ${toHex(block)}`);
  if (decoder.tableSize > options.maxTableSize)
    throw new Error(`table of ${decoder.tableSize} bytes above ${options.maxTableSize} from ${toHex(block)}`);
  return true;
}

/** How many inputs decoded and how many were refused: a fuzz that only ever does one proves little. */
class Outcomes {
  decoded = 0;
  refused = 0;
  add(decoded: boolean): void {
    if (decoded) this.decoded++;
    else this.refused++;
  }
  /** Both happened (checked on runs of 1,000 cases or more; a replay of one case cannot show both). */
  expectBoth(): void {
    if (CASES < 1000) return;
    expect(this.decoded).toBeGreaterThan(0);
    expect(this.refused).toBeGreaterThan(0);
  }
}

/** Runs `cases` cases of `body`, each from its own seed; a failure names the seed that replays it. */
function runCases(body: (random: Random, seed: number) => void): void {
  for (let i = 0; i < CASES; i++) {
    const seed = (FIRST_SEED + i) >>> 0;
    try {
      body(new Random(seed), seed);
    } catch (error) {
      throw new Error(`HPACK fuzz case failed: replay with HPACK_FUZZ_SEED=${seed} HPACK_FUZZ_CASES=1`, {
        cause: error,
      });
    }
  }
}

/**
 * Not a measure, a backstop: a case takes well under a millisecond, so only a hang reaches this (and a
 * long local run with a large HPACK_FUZZ_CASES gets the time it needs).
 */
const TIMEOUT_MS = 120_000 + CASES * 2;

describe(`HPACK decoder fuzz (${CASES} cases per test from seed ${FIRST_SEED})`, {
  timeout: TIMEOUT_MS,
}, () => {
  it("random bytes: a list within the limits or an HpackError", () => {
    const outcomes = new Outcomes();
    runCases((random) => {
      const options = {
        maxTableSize: random.pick([0, 64, 4096]),
        maxHeaderListSize: random.pick([100, 65536]),
      };
      const decoder = new HpackDecoder(options);
      outcomes.add(decodeChecked(decoder, options, random.bytes(random.int(64))));
    });
    outcomes.expectBoth();
  });

  it("mutated RFC series on one decoder: within the limits, or an HpackError and then only DECODER_FAILED", () => {
    const outcomes = new Outcomes();
    runCases((random) => {
      const series = random.pick(RFC_SERIES);
      const options = { maxTableSize: series.maxTableSize, maxHeaderListSize: random.pick([200, 65536]) };
      const decoder = new HpackDecoder(options);
      let failed = false;
      for (const [i, block] of series.blocks.entries()) {
        const input = random.int(2) === 0 ? mutate(random, block, random.pick(series.blocks)) : block;
        if (failed) {
          const reason = (() => {
            try {
              decoder.decode(input);
            } catch (error) {
              return error instanceof HpackError ? error.reason : error;
            }
          })();
          if (reason !== "DECODER_FAILED")
            throw new Error(`block ${i} after a failure gave ${String(reason)}`);
          continue;
        }
        failed = !decodeChecked(decoder, options, input);
        outcomes.add(!failed);
      }
    });
    outcomes.expectBoth();
  });

  it("mutated random valid blocks: a list within the limits or an HpackError", () => {
    const outcomes = new Outcomes();
    runCases((random) => {
      const options = {
        maxTableSize: random.pick([0, 256, 4096]),
        maxHeaderListSize: random.pick([300, 65536]),
      };
      const decoder = new HpackDecoder(options);
      const block = randomValidBlock(random);
      // With the default limits the block as it is must decode: its size updates stay within 4096, its
      // indices reach only entries it added itself, its list stays far below 64 KiB.
      if (
        options.maxTableSize === 4096 &&
        options.maxHeaderListSize === 65536 &&
        !decodeChecked(decoder, options, block)
      )
        throw new Error(`a valid block refused: ${toHex(block)}`);
      const mutated = mutate(random, block, randomValidBlock(random));
      outcomes.add(decodeChecked(new HpackDecoder(options), options, mutated));
    });
    outcomes.expectBoth();
  });

  it("round-trips random fields through the encoder", () => {
    runCases((random) => {
      const fields: HeaderField[] = [];
      for (let i = random.int(8); i > 0; i--) {
        const text = (n: number) =>
          String.fromCharCode(...Array.from({ length: random.int(n) }, () => random.int(256)));
        fields.push(
          random.int(4) === 0 ? [...random.pick(STATIC_TABLE)] : [text(16), text(random.pick([4, 64, 500]))],
        );
      }
      const decoded = new HpackDecoder().decode(encodeHeaderBlock(fields));
      if (JSON.stringify(decoded) !== JSON.stringify(fields))
        throw new Error(`round trip changed ${JSON.stringify(fields)} into ${JSON.stringify(decoded)}`);
    });
  });
});
