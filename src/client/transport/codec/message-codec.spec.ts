import {
  create,
  type DescField,
  type DescMessage,
  fromBinary,
  ScalarType,
  toBinary,
} from "@bufbuild/protobuf";
import { describe, expect, it } from "vitest";
import { prng } from "../../../../test/support/prng.js";
import { file_authpb_auth } from "../../../gen/authpb/auth_pb.js";
import {
  file_etcdserverpb_rpc,
  PutRequestSchema,
  RangeRequestSchema,
  RangeResponseSchema,
  RequestOpSchema,
  TxnRequestSchema,
} from "../../../gen/etcdserverpb/rpc_pb.js";
import { file_mvccpb_kv, KeyValueSchema } from "../../../gen/mvccpb/kv_pb.js";
import { file_v3electionpb_v3election } from "../../../gen/v3electionpb/v3election_pb.js";
import { file_v3lockpb_v3lock } from "../../../gen/v3lockpb/v3lock_pb.js";
import { messageCodec } from "./message-codec.js";

/** Every message of etcd's API, nested ones included. */
function allMessages(): DescMessage[] {
  const out: DescMessage[] = [];
  const visit = (m: DescMessage) => {
    out.push(m);
    m.nestedMessages.forEach(visit);
  };
  const files = [
    file_etcdserverpb_rpc,
    file_mvccpb_kv,
    file_authpb_auth,
    file_v3lockpb_v3lock,
    file_v3electionpb_v3election,
  ];
  for (const file of files) file.messages.forEach(visit);
  return out;
}

const INT64_EDGES = [
  0n,
  1n,
  127n,
  128n,
  2n ** 31n - 1n,
  2n ** 31n,
  2n ** 32n,
  2n ** 63n - 1n,
  -1n,
  -(2n ** 63n),
];
const UINT64_EDGES = [0n, 1n, 300n, 2n ** 32n - 1n, 2n ** 32n, 2n ** 53n + 1n, 2n ** 64n - 1n];
const INT32_EDGES = [0, 1, -1, 127, 128, 2 ** 31 - 1, -(2 ** 31)];
const STRINGS = ["", "a", "key/ä/€/😀", "x".repeat(127), "y".repeat(128), "é".repeat(70), "z".repeat(2_000)];

function randomScalar(type: ScalarType, rnd: () => number): unknown {
  const pick = <T>(list: readonly T[]) => list[Math.floor(rnd() * list.length)]!;
  switch (type) {
    case ScalarType.INT64:
    case ScalarType.SINT64:
      return pick(INT64_EDGES);
    case ScalarType.UINT64:
      return pick(UINT64_EDGES);
    case ScalarType.INT32:
    case ScalarType.SINT32:
      return pick(INT32_EDGES);
    case ScalarType.UINT32:
      return pick([0, 1, 128, 2 ** 32 - 1]);
    case ScalarType.BOOL:
      return rnd() < 0.5;
    case ScalarType.STRING:
      return pick(STRINGS);
    case ScalarType.BYTES: {
      const n = pick([0, 1, 100, 127, 128, 300, 2_000]);
      return Uint8Array.from({ length: n }, (_, i) => (i * 7 + n) & 0xff);
    }
    default:
      throw new Error(`no generator for scalar ${type}`);
  }
}

function randomValue(field: DescField, rnd: () => number, depth: number): unknown {
  switch (field.fieldKind) {
    case "scalar":
      return randomScalar(field.scalar, rnd);
    case "enum":
      return field.enum.values[Math.floor(rnd() * field.enum.values.length)]!.number;
    case "message":
      return randomMessage(field.message, rnd, depth + 1);
    case "list": {
      const n = Math.floor(rnd() * 4);
      return Array.from({ length: n }, () => {
        if (field.listKind === "message") return randomMessage(field.message, rnd, depth + 1);
        if (field.listKind === "enum")
          return field.enum.values[Math.floor(rnd() * field.enum.values.length)]!.number;
        return randomScalar(field.scalar, rnd);
      });
    }
    default:
      throw new Error(`no generator for ${field.fieldKind}`);
  }
}

/** An init object (no $typeName) with a random subset of fields set; nested messages stop at depth 3. */
function randomMessage(desc: DescMessage, rnd: () => number, depth = 0): Record<string, unknown> {
  const init: Record<string, unknown> = {};
  for (const member of desc.members) {
    if (rnd() < 0.4 || depth > 3) continue;
    if (member.kind === "oneof") {
      const field = member.fields[Math.floor(rnd() * member.fields.length)]!;
      init[member.localName] = { case: field.localName, value: randomValue(field, rnd, depth) };
    } else {
      init[member.localName] = randomValue(member, rnd, depth);
    }
  }
  return init;
}

const messages = allMessages();

describe("messageCodec", () => {
  it("covers every etcd message with the fast path (nothing in etcd's API needs protobuf-es)", () => {
    // Not a result check: the fallback would be correct too. It keeps the fast path from silently
    // turning off for a type when the schema grows.
    expect(messages.length).toBeGreaterThan(100);
    for (const desc of messages) expect(messageCodec(desc).fast, desc.typeName).toBe(true);
  });

  it("encodes every etcd message exactly as protobuf-es does, and decodes to the same message", () => {
    for (const desc of messages) {
      const codec = messageCodec(desc);
      for (let seed = 1; seed <= 12; seed++) {
        const init = randomMessage(desc, prng(seed * 7919 + desc.typeName.length));
        const expected = toBinary(desc, create(desc, init as never));
        const context = `${desc.typeName} seed ${seed}`;
        expect(codec.encode(init as never, 0), context).toEqual(expected);
        const framed = codec.encode(create(desc, init as never), 5);
        expect(framed.subarray(0, 5), context).toEqual(new Uint8Array(5));
        expect(framed.subarray(5), context).toEqual(expected);
        expect(codec.decode(expected), context).toStrictEqual(fromBinary(desc, expected));
      }
    }
  });

  it("decodes packed and unpacked lists, and zero values written explicitly", () => {
    const codec = messageCodec(RangeResponseSchema);
    const kv = toBinary(KeyValueSchema, create(KeyValueSchema, { key: new Uint8Array([1]), version: 3n }));
    // Two kvs (repeated field 2), a count of 0 written explicitly, more = true.
    const bytes = new Uint8Array([0x12, kv.length, ...kv, 0x12, kv.length, ...kv, 0x20, 0x00, 0x18, 0x01]);
    expect(codec.decode(bytes)).toStrictEqual(fromBinary(RangeResponseSchema, bytes));
    expect(codec.decode(bytes).kvs).toHaveLength(2);
  });

  it("hands unknown fields, merged messages and negative varints to protobuf-es", () => {
    const codec = messageCodec(RangeResponseSchema);
    const header = [0x0a, 0x02, 0x18, 0x05]; // header { revision: 5 }
    const cases = [
      new Uint8Array([0x78, 0x01]), // unknown field 15
      new Uint8Array([...header, 0x0a, 0x02, 0x20, 0x07]), // header twice: merged
      toBinary(RangeRequestSchema, create(RangeRequestSchema, { sortOrder: -1 as never })),
    ];
    expect(codec.decode(cases[0]!)).toStrictEqual(fromBinary(RangeResponseSchema, cases[0]!));
    expect(codec.decode(cases[0]!).$unknown).toHaveLength(1);
    const merged = codec.decode(cases[1]!);
    expect(merged).toStrictEqual(fromBinary(RangeResponseSchema, cases[1]!));
    expect(merged.header?.revision).toBe(5n);
    expect(merged.header?.raftTerm).toBe(7n);
    const request = messageCodec(RangeRequestSchema).decode(cases[2]!);
    expect(request).toStrictEqual(fromBinary(RangeRequestSchema, cases[2]!));
    expect(request.sortOrder).toBe(-1);
  });

  it("fails on malformed bytes with protobuf-es's own error", () => {
    const codec = messageCodec(RangeResponseSchema);
    const good = toBinary(
      RangeResponseSchema,
      create(RangeResponseSchema, { kvs: [{ key: new Uint8Array(10), value: new Uint8Array(200) }] }),
    );
    const broken = [
      good.subarray(0, good.length - 3), // truncated inside a value
      new Uint8Array([0x12, 0x05, 0x0a]), // length past the end
      new Uint8Array([0x00]), // field number 0
      new Uint8Array([0x0a, 0x80]), // a length that never ends
    ];
    for (const bytes of broken) {
      let expected: unknown;
      try {
        fromBinary(RangeResponseSchema, bytes);
      } catch (err) {
        expected = err;
      }
      if (expected === undefined) {
        expect(codec.decode(bytes)).toStrictEqual(fromBinary(RangeResponseSchema, bytes));
      } else {
        expect(() => codec.decode(bytes)).toThrow((expected as Error).message);
      }
    }
  });

  it("rejects invalid UTF-8 in a string as protobuf-es does", () => {
    // AuthenticateRequest.name (field 1) is a string.
    const desc = allMessages().find((m) => m.typeName === "etcdserverpb.AuthenticateRequest")!;
    const bytes = new Uint8Array([0x0a, 0x02, 0xc3, 0x28]);
    let expected: unknown;
    try {
      fromBinary(desc, bytes);
    } catch (err) {
      expected = err;
    }
    expect(expected).toBeInstanceOf(Error);
    expect(() => messageCodec(desc).decode(bytes)).toThrow((expected as Error).message);
  });

  it("leaves odd input to protobuf-es: 64-bit values as strings, wrong types, foreign messages", () => {
    const codec = messageCodec(PutRequestSchema);
    const asString = { key: new Uint8Array([1]), lease: "12345678901" } as never;
    expect(codec.encode(asString, 0)).toEqual(toBinary(PutRequestSchema, create(PutRequestSchema, asString)));
    const wrong = { key: "not bytes" } as never;
    const expected = (() => {
      try {
        return toBinary(PutRequestSchema, create(PutRequestSchema, wrong));
      } catch (err) {
        return err as Error;
      }
    })();
    if (expected instanceof Error) expect(() => codec.encode(wrong, 0)).toThrow(expected.message);
    else expect(codec.encode(wrong, 0)).toEqual(expected);
    // protobuf-es reads a message of another type as an init object; so must we.
    const foreign = { success: [create(KeyValueSchema, { key: new Uint8Array([1]) }) as never] };
    expect(messageCodec(TxnRequestSchema).encode(foreign, 0)).toEqual(
      toBinary(TxnRequestSchema, create(TxnRequestSchema, foreign)),
    );
  });

  it("writes a oneof member's zero value, as protobuf-es does", () => {
    const op = { request: { case: "requestRange", value: {} } } as const;
    expect(messageCodec(RequestOpSchema).encode(op, 0)).toEqual(
      toBinary(RequestOpSchema, create(RequestOpSchema, op)),
    );
  });

  it("moves a nested message when its length needs more than one byte", () => {
    for (const n of [100, 125, 126, 127, 128, 16_380, 16_384, 70_000]) {
      const txn = {
        success: [{ request: { case: "requestPut" as const, value: { key: new Uint8Array(n) } } }],
      };
      expect(messageCodec(TxnRequestSchema).encode(txn, 5).subarray(5), String(n)).toEqual(
        toBinary(TxnRequestSchema, create(TxnRequestSchema, txn)),
      );
    }
  });
});
