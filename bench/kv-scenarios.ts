/** The cases of `npm run bench` (bench/run.ts): keys, value and calls, for every client, Go's included. */
import type { GoOperation } from "./clients/go.js";
import type { BenchClient } from "./clients/types.js";

/** The value of every put: 100 bytes. */
export const value = new Uint8Array(100).fill(0x61);
const valueText = new TextDecoder().decode(value);
export const putPrefix = "bench/put/";
/** Puts cycle through this many keys. */
export const putSpread = 1024;
export const rangeKey = "bench/range";
export const txnKeys = Array.from({ length: 10 }, (_, i) => `bench/txn/${i}`);

/** One case of `npm run bench`: the same calls for the TypeScript clients and for bench/go. */
export type Scenario = {
  name: string;
  /** Calls in flight. */
  concurrency: number;
  /** The call of a TypeScript client (undefined: the client has no such call). */
  run: (c: BenchClient) => ((i: number) => Promise<void>) | undefined;
  /** The same calls, same keys and value, as bench/go runs them. */
  go: GoOperation;
};

const goPut: GoOperation = { op: "put", keyPrefix: putPrefix, spread: putSpread, value: valueText };
const goRange: GoOperation = { op: "range", key: rangeKey };
export const scenarios: Scenario[] = [
  {
    name: "put64",
    concurrency: 64,
    run: (c) => (i) => c.put(`${putPrefix}${i % putSpread}`, value),
    go: goPut,
  },
  {
    name: "put1",
    concurrency: 1,
    run: (c) => (i) => c.put(`${putPrefix}${i % putSpread}`, value),
    go: goPut,
  },
  { name: "range64", concurrency: 64, run: (c) => () => c.get(rangeKey), go: goRange },
  { name: "range1", concurrency: 1, run: (c) => () => c.get(rangeKey), go: goRange },
  {
    name: "txn10",
    concurrency: 64,
    run: (c) => (c.txn10 ? () => c.txn10!(txnKeys, value) : undefined),
    go: { op: "txn", keys: txnKeys, value: valueText },
  },
];
