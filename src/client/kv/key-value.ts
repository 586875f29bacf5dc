import type { KeyValue as KeyValuePb } from "../../gen/mvccpb/kv_pb.js";
import { InvalidJsonError } from "../core/errors.js";

const decoder = new TextDecoder();
/** Throws on bytes that are not UTF-8, instead of replacing them. */
const strictDecoder = new TextDecoder("utf-8", { fatal: true });

/** What `JSON.stringify(kv)` writes: text where the bytes are UTF-8, base64 otherwise; int64s as strings. */
export interface KeyValueJson {
  /** The key as text, when it is UTF-8. */
  key?: string | undefined;
  /** The key's bytes in base64, when it is not UTF-8. */
  keyBase64?: string | undefined;
  /** The value as text, when it is UTF-8. */
  value?: string | undefined;
  /** The value's bytes in base64, when it is not UTF-8. */
  valueBase64?: string | undefined;
  createRevision: string;
  modRevision: string;
  version: string;
  lease: string;
}

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

  /**
   * The value parsed as JSON. A value that is not UTF-8 JSON throws {@link InvalidJsonError} (naming the
   * key; the `SyntaxError` is its `cause`).
   */
  json<T = unknown>(): T {
    try {
      return JSON.parse(strictDecoder.decode(this.value)) as T;
    } catch (err) {
      throw new InvalidJsonError(this.keyText(), err);
    }
  }

  /**
   * For `JSON.stringify`: key and value as text where they are UTF-8 (`keyBase64` / `valueBase64`
   * otherwise), revisions, version and lease as decimal strings (JSON has no 64-bit integers).
   */
  toJSON(): KeyValueJson {
    const key = utf8(this.key);
    const value = utf8(this.value);
    return {
      ...(key === undefined ? { keyBase64: base64(this.key) } : { key }),
      ...(value === undefined ? { valueBase64: base64(this.value) } : { value }),
      createRevision: this.createRevision.toString(),
      modRevision: this.modRevision.toString(),
      version: this.version.toString(),
      lease: this.lease.toString(),
    };
  }

  /** `console.log(kv)` shows text where the bytes are UTF-8, and the revisions. */
  [Symbol.for("nodejs.util.inspect.custom")](
    _depth: number,
    options: { stylize?: (text: string, style: string) => string },
    inspect: (value: unknown, options?: unknown) => string,
  ): string {
    const show = (bytes: Uint8Array) => {
      const text = utf8(bytes);
      return text === undefined ? inspect(bytes, options) : inspect(text, options);
    };
    const n = (v: bigint) => inspect(v, options);
    return (
      `KeyValue { key: ${show(this.key)}, value: ${show(this.value)}, createRevision: ${n(this.createRevision)}, ` +
      `modRevision: ${n(this.modRevision)}, version: ${n(this.version)}, lease: ${n(this.lease)} }`
    );
  }
}

function utf8(bytes: Uint8Array): string | undefined {
  try {
    return strictDecoder.decode(bytes);
  } catch {
    return undefined;
  }
}

/** Base64 with web-standard APIs only (Bun, Deno). */
function base64(bytes: Uint8Array): string {
  let binary = "";
  for (let i = 0; i < bytes.length; i++) binary += String.fromCharCode(bytes[i]!);
  return btoa(binary);
}

/** Wraps a list of protobuf key-values. */
export function wrapAll(kvs: readonly KeyValuePb[]): KeyValue[] {
  const out = new Array<KeyValue>(kvs.length);
  for (let i = 0; i < kvs.length; i++) out[i] = new KeyValue(kvs[i]!);
  return out;
}
