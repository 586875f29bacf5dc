import type { KeyValue as KeyValuePb } from "../../gen/mvccpb/kv_pb.js";

const decoder = new TextDecoder();

/** One key-value pair as stored at some revision. */
export class KeyValue {
  /** The key's bytes. */
  readonly key: Uint8Array;
  /** The value's bytes (empty for keys-only reads). */
  readonly value: Uint8Array;
  /** Revision of the key's creation. */
  readonly createRevision: bigint;
  /** Revision of the key's last modification. */
  readonly modRevision: bigint;
  /** Number of modifications since creation (1 after the first put). */
  readonly version: bigint;
  /** The ID of the lease attached to the key (0n for none). */
  readonly lease: bigint;

  constructor(kv: KeyValuePb) {
    this.key = kv.key;
    this.value = kv.value;
    this.createRevision = kv.createRevision;
    this.modRevision = kv.modRevision;
    this.version = kv.version;
    this.lease = kv.lease;
  }

  /** The key decoded as UTF-8. */
  keyText(): string {
    return decoder.decode(this.key);
  }

  /** The value decoded as UTF-8. */
  text(): string {
    return decoder.decode(this.value);
  }

  /** The value parsed as JSON (throws `SyntaxError` when it is not JSON). */
  json<T = unknown>(): T {
    return JSON.parse(this.text()) as T;
  }
}

/** Wraps a list of protobuf key-values. */
export function wrapAll(kvs: readonly KeyValuePb[]): KeyValue[] {
  const out = new Array<KeyValue>(kvs.length);
  for (let i = 0; i < kvs.length; i++) out[i] = new KeyValue(kvs[i]!);
  return out;
}
