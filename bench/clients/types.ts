/** What the benchmark drives: one client library or transport, reduced to the calls it measures. */
export interface BenchClient {
  /** Name in the printed table and in bench/results/latest.json. */
  readonly name: string;
  put(key: string, value: Uint8Array): Promise<void>;
  get(key: string): Promise<void>;
  /** A txn of 10 ops (only the etcd-ts API and etcd3 implement it). */
  txn10?(keys: string[], value: Uint8Array): Promise<void>;
  close(): Promise<void>;
}
