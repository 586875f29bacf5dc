import {
  create,
  type DescField,
  type DescMessage,
  fromBinary,
  type MessageInitShape,
  type MessageShape,
  protoInt64,
  ScalarType,
  toBinary,
} from "@bufbuild/protobuf";
import { FALL_BACK, toInt64, toUint64, WireReader } from "./wire-reader.js";
import { WireWriter } from "./wire-writer.js";

/**
 * Binary encoding of one message type, with the same results as protobuf-es's `toBinary(create())`
 * and `fromBinary`, byte for byte and field for field (a spec checks it on every etcd message).
 */
export interface MessageCodec<Desc extends DescMessage = DescMessage> {
  /** True when this type has the fast path (false: protobuf-es does all the work). */
  readonly fast: boolean;
  /**
   * Encodes a message or its init shape, after `reserve` zero bytes (room for a frame prefix).
   * @throws what protobuf-es throws for input it cannot encode.
   */
  encode(message: MessageInitShape<Desc>, reserve: number): Uint8Array;
  /**
   * Decodes a message.
   * @throws what protobuf-es throws for bytes it cannot decode.
   */
  decode(bytes: Uint8Array): MessageShape<Desc>;
}

/**
 * The codec of `desc`: a fast path compiled from the descriptor for the plain proto3 messages etcd
 * uses (scalars, enums, bytes, strings, messages, lists, oneofs), which hands anything else to
 * protobuf-es: unknown fields, a singular message repeated on the wire, malformed bytes, values of
 * the wrong type, maps, floats and fixed-width integers. Cached per descriptor.
 */
export function messageCodec<Desc extends DescMessage>(desc: Desc): MessageCodec<Desc> {
  let codec = codecs.get(desc);
  if (codec === undefined) {
    const compiled = compile(desc, new Map());
    codec = compiled === undefined ? fallbackCodec(desc) : fastCodec(desc, compiled);
    codecs.set(desc, codec);
  }
  return codec as MessageCodec<Desc>;
}

const codecs = new WeakMap<DescMessage, MessageCodec>();

/** Protobuf-es only: for types the fast path does not cover, and for 64-bit integers as strings. */
function fallbackCodec(desc: DescMessage): MessageCodec {
  return {
    fast: false,
    encode(message, reserve) {
      const body = toBinary(desc, create(desc, message));
      if (reserve === 0) return body;
      const out = new Uint8Array(reserve + body.length);
      out.set(body, reserve);
      return out;
    },
    decode: (bytes) => fromBinary(desc, bytes),
  };
}

function fastCodec(desc: DescMessage, compiled: Compiled): MessageCodec {
  const slow = fallbackCodec(desc);
  return {
    fast: true,
    encode(message, reserve) {
      const writer = new WireWriter(reserve);
      try {
        writeMessage(writer, compiled, message as Record<string, unknown>);
      } catch (err) {
        if (err === FALL_BACK) return slow.encode(message, reserve);
        throw err;
      }
      return writer.finish();
    },
    decode(bytes) {
      try {
        const reader = new WireReader(bytes);
        return readInto(reader, compiled, bytes.length, 0) as MessageShape<DescMessage>;
      } catch (err) {
        if (err === FALL_BACK) return slow.decode(bytes);
        throw err;
      }
    },
  };
}

/** Wire types. */
const VARINT = 0;
const LEN = 2;
/** protobuf-es's nesting limit for decoding. */
const MAX_DEPTH = 100;

/** How one field is written and read. */
interface CompiledField {
  readonly number: number;
  readonly localName: string;
  /** The oneof's local name when the field is a member of one. */
  readonly oneof: string | undefined;
  readonly list: boolean;
  /** A list of numbers written packed. */
  readonly packed: boolean;
  /** ScalarType, or ENUM / MESSAGE below. */
  readonly type: number;
  readonly tag: number;
  /** The element's message, for message fields. */
  message: Compiled | undefined;
}

const ENUM = 100;
const MESSAGE = 101;

interface Compiled {
  readonly typeName: string;
  /** Fields in field-number order (the order protobuf-es writes them in). */
  readonly fields: CompiledField[];
  /** Fields by number, for reading. */
  readonly byNumber: (CompiledField | undefined)[];
  /** A fresh message with every default. */
  readonly make: () => Record<string, unknown>;
}

const SCALARS = new Set([
  ScalarType.INT32,
  ScalarType.INT64,
  ScalarType.UINT32,
  ScalarType.UINT64,
  ScalarType.SINT32,
  ScalarType.SINT64,
  ScalarType.BOOL,
  ScalarType.STRING,
  ScalarType.BYTES,
]);
const IMPLICIT = 2;

/** Compiles `desc`, or returns undefined when a field is outside what the fast path covers. */
function compile(desc: DescMessage, seen: Map<DescMessage, Compiled>): Compiled | undefined {
  const known = seen.get(desc);
  if (known !== undefined) return known;
  // 64-bit integers as strings (no BigInt, or BUF_BIGINT_DISABLE) are protobuf-es's business.
  if (!protoInt64.supported) return undefined;
  const fields: CompiledField[] = [];
  const byNumber: (CompiledField | undefined)[] = [];
  const compiled: Compiled = {
    typeName: desc.typeName,
    fields,
    byNumber,
    // protobuf-es's own compiled create(): the same defaults, own keys and prototype as fromBinary's.
    make: () => create(desc) as Record<string, unknown>,
  };
  seen.set(desc, compiled);
  for (const field of [...desc.fields].sort((a, b) => a.number - b.number)) {
    const c = compileField(field);
    if (c === undefined || field.number > 1000) return undefined;
    if (c.type === MESSAGE) {
      const child = compile((field as { message: DescMessage }).message, seen);
      if (child === undefined) return undefined;
      c.message = child;
    }
    fields.push(c);
    byNumber[field.number] = c;
  }
  return compiled;
}

function compileField(field: DescField): CompiledField | undefined {
  const base = { number: field.number, localName: field.localName, oneof: field.oneof?.localName };
  switch (field.fieldKind) {
    case "scalar":
      // Oneof members have explicit presence (the oneof carries it); other fields must be implicit.
      if (!SCALARS.has(field.scalar) || field.longAsString) return undefined;
      if (field.oneof === undefined && field.presence !== IMPLICIT) return undefined;
      return {
        ...base,
        list: false,
        packed: false,
        type: field.scalar,
        tag: tagOf(field.number, field.scalar),
        message: undefined,
      };
    case "enum":
      if (field.oneof === undefined && field.presence !== IMPLICIT) return undefined;
      if (!field.enum.open || field.enum.values[0]?.number !== 0) return undefined;
      return {
        ...base,
        list: false,
        packed: false,
        type: ENUM,
        tag: (field.number << 3) | VARINT,
        message: undefined,
      };
    case "message":
      if (field.delimitedEncoding) return undefined;
      return {
        ...base,
        list: false,
        packed: false,
        type: MESSAGE,
        tag: (field.number << 3) | LEN,
        message: undefined,
      };
    case "list": {
      if (field.listKind === "message") {
        if (field.delimitedEncoding) return undefined;
        return {
          ...base,
          list: true,
          packed: false,
          type: MESSAGE,
          tag: (field.number << 3) | LEN,
          message: undefined,
        };
      }
      if (field.listKind === "enum") {
        if (!field.enum.open) return undefined;
        return {
          ...base,
          list: true,
          packed: field.packed,
          type: ENUM,
          tag: (field.number << 3) | VARINT,
          message: undefined,
        };
      }
      if (!SCALARS.has(field.scalar) || field.longAsString) return undefined;
      const packed = field.packed && field.scalar !== ScalarType.STRING && field.scalar !== ScalarType.BYTES;
      return {
        ...base,
        list: true,
        packed,
        type: field.scalar,
        tag: tagOf(field.number, field.scalar),
        message: undefined,
      };
    }
    default:
      return undefined;
  }
}

function tagOf(number: number, scalar: ScalarType): number {
  return (number << 3) | (scalar === ScalarType.STRING || scalar === ScalarType.BYTES ? LEN : VARINT);
}

// ---------------------------------------------------------------------------------------------------
// Encoding

function writeMessage(w: WireWriter, c: Compiled, m: Record<string, unknown>): void {
  if (m === null || typeof m !== "object") throw FALL_BACK;
  const typeName = m.$typeName;
  // A message of another type, or one carrying unknown fields, is protobuf-es's to judge.
  if ((typeName !== undefined && typeName !== c.typeName) || m.$unknown !== undefined) throw FALL_BACK;
  const fields = c.fields;
  for (let i = 0; i < fields.length; i++) {
    const f = fields[i]!;
    if (f.oneof !== undefined) {
      const o = m[f.oneof] as { case?: unknown; value?: unknown } | undefined | null;
      if (o == null || o.case === undefined) continue;
      if (typeof o !== "object") throw FALL_BACK;
      // In a oneof every value is written, the zero value too.
      if (o.case === f.localName) writeSingular(w, f, o.value, true);
      continue;
    }
    const v = m[f.localName];
    if (v == null) continue;
    if (f.list) writeList(w, f, v);
    else writeSingular(w, f, v, false);
  }
}

function writeSingular(w: WireWriter, f: CompiledField, v: unknown, always: boolean): void {
  switch (f.type) {
    case MESSAGE: {
      if (v == null) throw FALL_BACK;
      w.uint32(f.tag);
      const start = w.beginLength();
      writeMessage(w, f.message!, v as Record<string, unknown>);
      w.endLength(start);
      return;
    }
    case ScalarType.BYTES:
      if (!(v instanceof Uint8Array)) throw FALL_BACK;
      if (v.length === 0 && !always) return;
      w.uint32(f.tag);
      w.bytes(v);
      return;
    case ScalarType.STRING:
      if (typeof v !== "string") throw FALL_BACK;
      if (v === "" && !always) return;
      w.uint32(f.tag);
      w.string(v);
      return;
    case ScalarType.BOOL:
      if (typeof v !== "boolean") throw FALL_BACK;
      if (!v && !always) return;
      w.uint32(f.tag);
      w.uint32(v ? 1 : 0);
      return;
    default:
      if (isZero(v) && !always) return;
      w.uint32(f.tag);
      writeNumber(w, f.type, v);
  }
}

function writeList(w: WireWriter, f: CompiledField, v: unknown): void {
  if (!Array.isArray(v)) throw FALL_BACK;
  if (v.length === 0) return;
  if (f.packed) {
    w.uint32((f.number << 3) | LEN);
    const start = w.beginLength();
    for (let i = 0; i < v.length; i++) writeNumber(w, f.type, v[i]);
    w.endLength(start);
    return;
  }
  for (let i = 0; i < v.length; i++) writeSingular(w, f, v[i], true);
}

/** The zero value of an implicit-presence number field (nothing is written for it). */
function isZero(v: unknown): boolean {
  if (typeof v === "number") return v === 0;
  if (typeof v === "bigint") return v === 0n;
  // Strings for 64-bit values and anything odd: protobuf-es decides.
  throw FALL_BACK;
}

function writeNumber(w: WireWriter, type: number, v: unknown): void {
  switch (type) {
    case ScalarType.INT32:
    case ENUM:
      if (typeof v !== "number" || !Number.isInteger(v) || v > 0x7fffffff || v < -0x80000000) throw FALL_BACK;
      w.int32(v);
      return;
    case ScalarType.UINT32:
      if (typeof v !== "number" || !Number.isInteger(v) || v < 0 || v > 0xffffffff) throw FALL_BACK;
      w.uint32(v);
      return;
    case ScalarType.SINT32:
      if (typeof v !== "number" || !Number.isInteger(v) || v > 0x7fffffff || v < -0x80000000) throw FALL_BACK;
      w.uint32(((v << 1) ^ (v >> 31)) >>> 0);
      return;
    case ScalarType.BOOL:
      if (typeof v !== "boolean") throw FALL_BACK;
      w.uint32(v ? 1 : 0);
      return;
    case ScalarType.INT64:
      w.uint64(BigInt.asUintN(64, int64Of(v, -(2n ** 63n), 2n ** 63n - 1n)));
      return;
    case ScalarType.UINT64:
      w.uint64(int64Of(v, 0n, 2n ** 64n - 1n));
      return;
    case ScalarType.SINT64: {
      const x = int64Of(v, -(2n ** 63n), 2n ** 63n - 1n);
      w.uint64(BigInt.asUintN(64, (x << 1n) ^ (x >> 63n)));
      return;
    }
    default:
      throw FALL_BACK;
  }
}

/** A 64-bit value given as bigint (or a safe integer number) within [min, max]; else protobuf-es. */
function int64Of(v: unknown, min: bigint, max: bigint): bigint {
  let x: bigint;
  if (typeof v === "bigint") x = v;
  else if (typeof v === "number" && Number.isSafeInteger(v)) x = BigInt(v);
  else throw FALL_BACK;
  if (x < min || x > max) throw FALL_BACK;
  return x;
}

// ---------------------------------------------------------------------------------------------------
// Decoding

function readInto(r: WireReader, c: Compiled, length: number, depth: number): Record<string, unknown> {
  if (depth >= MAX_DEPTH) throw FALL_BACK;
  const m = c.make();
  const end = r.pos + length;
  const byNumber = c.byNumber;
  while (r.pos < end) {
    const tag = r.uint32();
    const f = byNumber[tag >>> 3];
    // Unknown fields are kept by protobuf-es in $unknown: let it.
    if (f === undefined) throw FALL_BACK;
    const wire = tag & 7;
    if (f.list) {
      const items = m[f.localName] as unknown[];
      if (wire === LEN && f.type !== MESSAGE && f.type !== ScalarType.STRING && f.type !== ScalarType.BYTES) {
        const stop = r.pos + r.length();
        while (r.pos < stop) items.push(readNumber(r, f.type));
        if (r.pos !== stop) throw FALL_BACK;
      } else {
        if (tag !== f.tag) throw FALL_BACK;
        items.push(readValue(r, f, depth));
      }
      continue;
    }
    if (tag !== f.tag) throw FALL_BACK;
    if (f.oneof !== undefined) {
      const o = m[f.oneof] as { case: unknown };
      // A message member seen twice is merged by protobuf-es.
      if (f.type === MESSAGE && o.case === f.localName) throw FALL_BACK;
      m[f.oneof] = { case: f.localName, value: readValue(r, f, depth) };
      continue;
    }
    // A singular message seen twice is merged by protobuf-es.
    if (f.type === MESSAGE && m[f.localName] !== undefined) throw FALL_BACK;
    m[f.localName] = readValue(r, f, depth);
  }
  if (r.pos !== end) throw FALL_BACK;
  return m;
}

function readValue(r: WireReader, f: CompiledField, depth: number): unknown {
  switch (f.type) {
    case MESSAGE:
      return readInto(r, f.message!, r.length(), depth + 1);
    case ScalarType.BYTES:
      return r.bytes();
    case ScalarType.STRING:
      return r.string();
    default:
      return readNumber(r, f.type);
  }
}

function readNumber(r: WireReader, type: number): number | bigint | boolean {
  switch (type) {
    case ScalarType.INT32:
    case ENUM: {
      const lo = r.varint64();
      return lo | 0;
    }
    case ScalarType.UINT32:
      return r.varint64();
    case ScalarType.SINT32: {
      const v = r.varint64();
      return (v >>> 1) ^ -(v & 1);
    }
    case ScalarType.BOOL:
      return r.varint64() !== 0 || r.hi !== 0;
    case ScalarType.INT64: {
      const lo = r.varint64();
      return toInt64(lo, r.hi);
    }
    case ScalarType.UINT64: {
      const lo = r.varint64();
      return toUint64(lo, r.hi);
    }
    case ScalarType.SINT64: {
      const lo = r.varint64();
      const u = toUint64(lo, r.hi);
      return (u >> 1n) ^ -(u & 1n);
    }
    default:
      throw FALL_BACK;
  }
}
