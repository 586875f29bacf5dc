import { describe, expect, it } from "vitest";
import { toHex } from "../../../../../test/support/hpack-blocks.js";
import {
  mutate,
  Random,
  RFC_SERIES,
  randomFields,
  randomValidBlock,
} from "../../../../../test/support/hpack-fuzz.js";
import { type HeaderField, HpackDecoder, type HpackDecoderOptions } from "./decoder.js";
import { encodeHeaderBlock } from "./encoder.js";
import { HpackError } from "./errors.js";

// Fuzzing the decoder with random bytes and with mutations (bit flips, byte changes, truncations,
// splices, repeats) of valid blocks: each block must decode to a list within the limits or throw an
// HpackError, nothing else. Bounded by iteration count, never by the clock. Each case comes from its
// own seed, printed on failure: HPACK_FUZZ_SEED=<seed> HPACK_FUZZ_CASES=1 replays exactly that case;
// HPACK_FUZZ_CASES=<n> runs more (or fewer) cases than the CI default.

const CASES = Number(process.env.HPACK_FUZZ_CASES ?? 5000);
const FIRST_SEED = process.env.HPACK_FUZZ_SEED
  ? Number(process.env.HPACK_FUZZ_SEED)
  : Math.floor(Math.random() * 2 ** 32);

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
      const fields = randomFields(random, 8, 16, [4, 64, 500]);
      const decoded = new HpackDecoder().decode(encodeHeaderBlock(fields));
      if (JSON.stringify(decoded) !== JSON.stringify(fields))
        throw new Error(`round trip changed ${JSON.stringify(fields)} into ${JSON.stringify(decoded)}`);
    });
  });
});
