import { inspect } from "node:util";
import { create } from "@bufbuild/protobuf";
import { describe, expect, it } from "vitest";
import { KeyValueSchema } from "../../gen/mvccpb/kv_pb.js";
import { KeyValue } from "./key-value.js";

const enc = new TextEncoder();
const kv = (key: Uint8Array, value: Uint8Array) =>
  new KeyValue(
    create(KeyValueSchema, {
      key,
      value,
      createRevision: 5n,
      modRevision: 2n ** 60n,
      version: 3n,
      lease: 0n,
    }),
  );

describe("KeyValue", () => {
  it("JSON.stringify gives text and decimal strings, never throws on bigints", () => {
    expect(JSON.parse(JSON.stringify(kv(enc.encode("a/é"), enc.encode('{"x":1}'))))).toEqual({
      key: "a/é",
      value: '{"x":1}',
      createRevision: "5",
      modRevision: "1152921504606846976",
      version: "3",
      lease: "0",
    });
  });

  it("bytes that are not UTF-8 go to JSON as base64", () => {
    const json = kv(Uint8Array.of(0xff, 0x00), enc.encode("v")).toJSON();
    expect(json.key).toBeUndefined();
    expect(json.keyBase64).toBe("/wA=");
    expect(json.value).toBe("v");
  });

  it("inspect shows text and revisions", () => {
    const shown = inspect(kv(enc.encode("k"), enc.encode("v")));
    expect(shown).toBe(
      "KeyValue { key: 'k', value: 'v', createRevision: 5n, modRevision: 1152921504606846976n, version: 3n, lease: 0n }",
    );
    expect(inspect(kv(Uint8Array.of(0xff), enc.encode("")))).toContain("Uint8Array(1) [ 255 ]");
  });
});
