import { describe, expect, it } from "vitest";
import { RangeRequest_SortOrder, RangeRequest_SortTarget } from "../../gen/etcdserverpb/rpc_pb.js";
import { InvalidArgumentError } from "../core/errors.js";
import { KeyValue } from "./key-value.js";
import { deleteRequest, putRequest, rangeBounds, rangeRequest } from "./requests.js";

const enc = (s: string) => new TextEncoder().encode(s);

describe("rangeBounds", () => {
  it("encodes a key, [key, end), a prefix, from-key and the empty prefix", () => {
    expect(rangeBounds("a")).toEqual({ key: enc("a"), rangeEnd: new Uint8Array(0) });
    expect(rangeBounds({ key: "a", end: "c" })).toEqual({ key: enc("a"), rangeEnd: enc("c") });
    expect(rangeBounds({ prefix: "a/" })).toEqual({ key: enc("a/"), rangeEnd: enc("a0") });
    expect(rangeBounds({ fromKey: "m" })).toEqual({ key: enc("m"), rangeEnd: Uint8Array.of(0) });
    expect(rangeBounds({ prefix: "" })).toEqual({ key: Uint8Array.of(0), rangeEnd: Uint8Array.of(0) });
  });
  it("rejects empty keys and ends", () => {
    expect(() => rangeBounds("")).toThrow(InvalidArgumentError);
    expect(() => rangeBounds({ key: "a", end: "" })).toThrow(/end/);
  });
});

describe("rangeRequest", () => {
  it("encodes every option", () => {
    const req = rangeRequest(
      { prefix: "p" },
      {
        limit: 5,
        revision: 9n,
        sort: { target: "mod", order: "descend" },
        serializable: true,
        countOnly: true,
        keysOnly: true,
        minModRevision: 1,
        maxModRevision: 2,
        minCreateRevision: 3,
        maxCreateRevision: 4,
      },
    );
    expect(req).toMatchObject({
      limit: 5n,
      revision: 9n,
      sortTarget: RangeRequest_SortTarget.MOD,
      sortOrder: RangeRequest_SortOrder.DESCEND,
      serializable: true,
      countOnly: true,
      keysOnly: true,
      minModRevision: 1n,
      maxModRevision: 2n,
      minCreateRevision: 3n,
      maxCreateRevision: 4n,
    });
  });
  it("names the bad field", () => {
    expect(() => rangeRequest("k", { limit: -1 })).toThrow(/^limit/);
    expect(() => rangeRequest("k", { sort: { target: "size" as "key" } })).toThrow(/sort.target/);
  });
});

describe("putRequest / deleteRequest", () => {
  it("checks lease, ignoreValue and size", () => {
    expect(putRequest("k", "v", { lease: 7 }, 100)).toMatchObject({ lease: 7n });
    expect(() => putRequest("k", "v", { ignoreValue: true }, 100)).toThrow(/value/);
    expect(() => putRequest("k", "v", { lease: 1, ignoreLease: true }, 100)).toThrow(/lease/);
    expect(() => putRequest("k", "x".repeat(100), {}, 100)).toThrow(/value/);
    expect(deleteRequest({ prefix: "a" }, { prevKv: true })).toMatchObject({
      prevKv: true,
      rangeEnd: enc("b"),
    });
  });
});

describe("KeyValue", () => {
  it("decodes text and JSON and keeps bigints", () => {
    const kv = new KeyValue({
      $typeName: "mvccpb.KeyValue",
      key: enc("k"),
      value: enc('{"a":1}'),
      createRevision: 1n,
      modRevision: 2n,
      version: 3n,
      lease: 4n,
    });
    expect(kv.keyText()).toBe("k");
    expect(kv.json()).toEqual({ a: 1 });
    expect([kv.createRevision, kv.modRevision, kv.version, kv.lease]).toEqual([1n, 2n, 3n, 4n]);
  });
});
