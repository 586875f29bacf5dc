import { createContextValues } from "@connectrpc/connect";
import { describe, expect, it } from "vitest";
import { InvalidArgumentError } from "../client/core/errors.js";
import { callHashKey, hashKey } from "./hash-key.js";

describe("callHashKey", () => {
  const name = "x-etcd-ts-hash-key";

  it("reads the header from every HeadersInit form, case-insensitively", () => {
    expect(callHashKey(undefined, { "X-Etcd-Ts-Hash-Key": "a" }, name)).toBe("a");
    expect(callHashKey(undefined, [["x-etcd-ts-hash-key", "b"]], name)).toBe("b");
    expect(callHashKey(undefined, new Headers({ "X-ETCD-TS-HASH-KEY": "c" }), name)).toBe("c");
    expect(callHashKey(undefined, { other: "d" }, name)).toBeUndefined();
    expect(callHashKey(undefined, undefined, name)).toBeUndefined();
    expect(callHashKey(undefined, { "x-tenant": "e" }, "x-tenant")).toBe("e");
  });

  it("takes the hashKey context value first", () => {
    const values = createContextValues().set(hashKey, "ctx");
    expect(callHashKey(values, { [name]: "header" }, name)).toBe("ctx");
    expect(callHashKey(createContextValues(), { [name]: "header" }, name)).toBe("header");
  });

  it("rejects a context value that is not a string", () => {
    const values = createContextValues().set(hashKey, 42 as unknown as string);
    expect(() => callHashKey(values, undefined, name)).toThrow(InvalidArgumentError);
    expect(() => callHashKey(values, undefined, name)).toThrow("hashKey");
  });
});
