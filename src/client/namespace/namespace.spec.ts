import { create } from "@bufbuild/protobuf";
import { describe, expect, it } from "vitest";
import {
  Compare_CompareResult,
  Compare_CompareTarget,
  TxnResponseSchema,
} from "../../gen/etcdserverpb/rpc_pb.js";
import { EventSchema, KeyValueSchema } from "../../gen/mvccpb/kv_pb.js";
import { InvalidArgumentError } from "../core/errors.js";
import { rangeBounds } from "../kv/requests.js";
import type { KeyRange } from "../kv/types.js";
import { compare } from "../txn/compare.js";
import { op } from "../txn/ops.js";
import { txn } from "../txn/txn.js";
import { Namespace, prefixInterval } from "./namespace.js";

const enc = (s: string) => new TextEncoder().encode(s);
const b = (...bytes: number[]) => Uint8Array.from(bytes);
const NONE = new Uint8Array(0);
const ZERO = b(0);

describe("prefixInterval (Go's namespace.prefixInterval)", () => {
  it("prefixes a single key and leaves its empty end empty", () => {
    expect(prefixInterval(enc("app/"), enc("k"), NONE)).toEqual({ key: enc("app/k"), rangeEnd: NONE });
  });
  it("prefixes an explicit range end", () => {
    expect(prefixInterval(enc("app/"), enc("a"), enc("c"))).toEqual({
      key: enc("app/a"),
      rangeEnd: enc("app/c"),
    });
  });
  it('turns the "\\0" end into the end of the namespace, not of the keyspace', () => {
    expect(prefixInterval(enc("app/"), enc("m"), ZERO)).toEqual({ key: enc("app/m"), rangeEnd: enc("app0") });
  });
  it('keeps "\\0" for a prefix of only 0xff bytes (carrying as Go does)', () => {
    expect(prefixInterval(b(0xff, 0xff), enc("k"), ZERO)).toEqual({
      key: b(0xff, 0xff, 0x6b),
      rangeEnd: ZERO,
    });
    expect(prefixInterval(b(0x61, 0xff), enc("k"), ZERO).rangeEnd).toEqual(b(0x62));
  });
  it("does not modify its inputs", () => {
    const prefix = enc("p/");
    const key = enc("k");
    prefixInterval(prefix, key, ZERO);
    expect(prefix).toEqual(enc("p/"));
    expect(key).toEqual(enc("k"));
  });
});

describe("Namespace.of", () => {
  it("refuses an empty prefix and what is not a string or bytes", () => {
    expect(() => Namespace.of("")).toThrow(InvalidArgumentError);
    expect(() => Namespace.of(NONE)).toThrow(/prefix/);
    expect(() => Namespace.of(null as unknown as string)).toThrow(InvalidArgumentError);
    expect(() => Namespace.of(7 as unknown as string)).toThrow(/prefix.*number/);
  });
  it("copies the caller's bytes", () => {
    const bytes = enc("a/");
    const ns = Namespace.of(bytes);
    bytes[0] = 0x7a;
    expect(ns.prefix).toEqual(enc("a/"));
  });
  it("composes nested namespaces as the concatenation of their prefixes", () => {
    expect(Namespace.of("b/", Namespace.of("a/")).prefix).toEqual(enc("a/b/"));
  });
});

/** Go nests by wrapping: the inner view ("b/") prefixes first, then the outer ("a/"). */
function nested(outer: Uint8Array, inner: Uint8Array, key: Uint8Array, end: Uint8Array) {
  const first = prefixInterval(inner, key, end);
  return prefixInterval(outer, first.key, first.rangeEnd);
}

describe("nested namespaces", () => {
  const ranges: KeyRange[] = [
    { key: "k" },
    { key: "a", end: "c" },
    { prefix: "x" },
    { prefix: "" },
    { fromKey: "m" },
    { fromKey: "" },
    { prefix: b(0xff) },
  ];
  const pairs: [Uint8Array, Uint8Array][] = [
    [enc("a/"), enc("b/")],
    [enc("a/"), b(0xff)],
    [b(0xff), b(0xff, 0xff)],
    [b(0x61, 0xff), enc("z")],
  ];
  it("give the bounds of Go's wrapped wrappers for every spelling of a range", () => {
    for (const [outer, inner] of pairs) {
      const ns = Namespace.of(inner, Namespace.of(outer));
      for (const range of ranges) {
        const { key, rangeEnd } = rangeBounds(range);
        expect(ns.prefixBounds({ key, rangeEnd })).toEqual(nested(outer, inner, key, rangeEnd));
      }
    }
  });
});

describe("Namespace requests", () => {
  const ns = Namespace.of("app/");
  it("keeps every spelling of a range inside [prefix, prefix end)", () => {
    const cases: [KeyRange | string, string, string][] = [
      ["k", "app/k", ""],
      [{ key: "a", end: "c" }, "app/a", "app/c"],
      [{ prefix: "x/" }, "app/x/", "app/x0"],
      [{ fromKey: "m" }, "app/m", "app0"],
      [{ key: "m", end: "\0" }, "app/m", "app0"],
      // Go's Get("", WithPrefix()) and WithFromKey() read from "\0": just after the namespace's own key.
      [{ prefix: "" }, "app/\0", "app0"],
      [{ fromKey: "" }, "app/\0", "app0"],
    ];
    for (const [range, key, end] of cases) {
      expect(ns.prefixBounds(rangeBounds(range))).toEqual({ key: enc(key), rangeEnd: enc(end) });
    }
  });
  it("starts a whole-namespace watch at the namespace's own key, as Go's watcher does", () => {
    expect(ns.watchBounds({ prefix: "" })).toEqual({ key: enc("app/"), rangeEnd: enc("app0") });
    expect(ns.watchBounds({ fromKey: NONE })).toEqual({ key: enc("app/"), rangeEnd: enc("app0") });
    expect(ns.watchBounds({ fromKey: "\0" })).toEqual({ key: enc("app/\0"), rangeEnd: enc("app0") });
    expect(ns.watchBounds({ prefix: "k" })).toEqual({ key: enc("app/k"), rangeEnd: enc("app/l") });
    expect(() => ns.watchBounds("")).toThrow(InvalidArgumentError);
  });
  it("prefixes a put's key and leaves the request it was given alone", () => {
    const request = { key: enc("k"), value: enc("v") };
    expect(ns.prefixPut(request)).toEqual({ key: enc("app/k"), value: enc("v") });
    expect(request.key).toEqual(enc("k"));
  });
  it("prefixes a txn's comparisons and ops, nested txns included, without changing the ops", () => {
    const get = op.get({ fromKey: "a" }, { limit: 1 });
    const inner = txn()
      .if(compare.value({ prefix: "q" }, "=", "v"))
      .onSuccess(op.put("n", "1"));
    const t = txn()
      .if(compare.version("k", ">", 0))
      .onSuccess(get, op.txn(inner))
      .onFailure(op.delete({ key: "a", end: "b" }));
    const request = ns.prefixTxn(t.toRequest());
    expect(request.compare?.[0]).toMatchObject({
      key: enc("app/k"),
      rangeEnd: NONE,
      target: Compare_CompareTarget.VERSION,
      result: Compare_CompareResult.GREATER,
    });
    expect(request.success?.[0]?.request).toMatchObject({
      case: "requestRange",
      value: { key: enc("app/a"), rangeEnd: enc("app0"), limit: 1n },
    });
    const nestedTxn = request.success?.[1]?.request;
    expect(nestedTxn?.case).toBe("requestTxn");
    if (nestedTxn?.case !== "requestTxn") return;
    expect(nestedTxn.value.compare?.[0]).toMatchObject({ key: enc("app/q"), rangeEnd: enc("app/r") });
    expect(nestedTxn.value.success?.[0]?.request).toMatchObject({ value: { key: enc("app/n") } });
    expect(request.failure?.[0]?.request).toMatchObject({
      case: "requestDeleteRange",
      value: { key: enc("app/a"), rangeEnd: enc("app/b") },
    });
    // The op objects are shared by whoever built them: they still name the unprefixed keys.
    expect(get.message.request).toMatchObject({ value: { key: enc("a"), rangeEnd: ZERO } });
  });
});

describe("Namespace responses", () => {
  const ns = Namespace.of("app/");
  const kv = (key: string) => create(KeyValueSchema, { key: enc(key) });
  it("strips every key of a txn response, nested ones included", () => {
    const res = create(TxnResponseSchema, {
      responses: [
        { response: { case: "responseRange", value: { kvs: [kv("app/a"), kv("app/b")] } } },
        { response: { case: "responsePut", value: { prevKv: kv("app/p") } } },
        { response: { case: "responseDeleteRange", value: { prevKvs: [kv("app/d")] } } },
        {
          response: {
            case: "responseTxn",
            value: { responses: [{ response: { case: "responseRange", value: { kvs: [kv("app/n")] } } }] },
          },
        },
      ],
    });
    ns.unprefixTxn(res);
    const r = res.responses;
    expect(r[0]?.response.value).toMatchObject({ kvs: [{ key: enc("a") }, { key: enc("b") }] });
    expect(r[1]?.response.value).toMatchObject({ prevKv: { key: enc("p") } });
    expect(r[2]?.response.value).toMatchObject({ prevKvs: [{ key: enc("d") }] });
    expect(r[3]?.response.value).toMatchObject({
      responses: [{ response: { value: { kvs: [{ key: enc("n") }] } } }],
    });
  });
  it("strips watch events' keys and previous keys", () => {
    const events = [
      create(EventSchema, { kv: kv("app/x"), prevKv: kv("app/x") }),
      create(EventSchema, { kv: kv("app/") }),
    ];
    ns.unprefixEvents(events);
    expect(events[0]?.kv?.key).toEqual(enc("x"));
    expect(events[0]?.prevKv?.key).toEqual(enc("x"));
    expect(events[1]?.kv?.key).toEqual(NONE);
  });
  it("keeps a lease's keys inside the namespace only, stripped", () => {
    expect(ns.leaseKeys([enc("app/a"), enc("app0"), enc("ap"), enc("app/"), enc("other/app/b")])).toEqual([
      enc("a"),
      NONE,
    ]);
  });
});
